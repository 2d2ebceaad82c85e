package io.watchcast.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watchcast.testing.RequiresProgram;
import io.watchcast.testing.SelfSignedTls;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in a real headless Chromium, against a real server over a real directory. Needs
 * Debian's {@code chromium} and {@code chromium-driver}; {@code .ci/run} installs them. Locally:
 * {@code sudo apt-get install chromium chromium-driver}, then {@code ./mvnw -pl examples -am
 * verify}.
 */
@RequiresProgram(
    value = "chromium",
    paths = "/usr/bin/chromium",
    install = "apt-get install chromium chromium-driver")
@RequiresProgram(
    value = "chromedriver",
    paths = "/usr/bin/chromedriver",
    install = "apt-get install chromium chromium-driver")
final class DashboardBrowserTest {
  /** Short client timers so that reconnects and fallbacks happen within a test's patience. */
  private static final Map<String, Object> FAST =
      Map.of(
          "minDelay", 100,
          "maxDelay", 800,
          "pollInterval", 300,
          "upgradeInterval", 1500,
          "pingInterval", 5000,
          "pongTimeout", 3000);

  private static final String STATUS =
      "return document.body.dataset.status + '/' + document.body.dataset.transport"
          + " + '/' + document.getElementById('dot').className;";

  @TempDir Path dir;
  private Browser browser;
  private DashboardServer server;

  @BeforeEach
  void startBrowser() throws Exception {
    browser = Browser.start();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    if (browser != null) {
      browser.close();
    }
  }

  @Test
  void page_goesLive_andAFileWriteUpdatesItsPanelWithinOneSecond() throws Exception {
    server = DashboardServer.start(options(0, 0, true, true, true));
    browser.open(server.url());
    awaitStatus("live/websocket/dot live");
    // The client is usable as an ES module too: importing it defines the same global.
    assertThat(
            browser
                .eval(
                    "return import('/watchcast.js?as-module')"
                        + ".then(() => typeof globalThis.Watchcast.connect);")
                .asText())
        .isEqualTo("function");
    browser.await(
        "return document.getElementById('skills').textContent;",
        v -> v.asText().contains("summarize"),
        Duration.ofSeconds(10));

    Files.writeString(dir.resolve("memory/fresh.md"), "# Fresh note\n\nwritten by the test\n");
    long written = System.nanoTime();
    browser.await(memoryText(), v -> v.asText().contains("Fresh note"), Duration.ofSeconds(1));
    long millis = (System.nanoTime() - written) / 1_000_000;
    System.out.println("file write -> panel updated in " + millis + " ms");

    // The right panel, and only it, changed.
    assertThat(browser.eval("return document.getElementById('skills').textContent;").asText())
        .doesNotContain("Fresh note");

    // A log line lands in the logs panel.
    Files.writeString(
        dir.resolve("logs/app.log"),
        "12:00:00 hello from the test\n",
        java.nio.file.StandardOpenOption.APPEND);
    browser.await(
        "return document.getElementById('logs').textContent;",
        v -> v.asText().contains("hello from the test"),
        Duration.ofSeconds(2));
    browser.await(
        "return document.querySelectorAll('#stats .metric').length;",
        v -> v.asInt() == 6,
        Duration.ofSeconds(5));

    // The picture for the README: once the change highlights have faded.
    browser.await(
        "return document.querySelectorAll('#memory .changed, #skills .changed').length;",
        v -> v.asInt() == 0,
        Duration.ofSeconds(5));
    // Always saved beside the build; -Dwatchcast.screenshot=docs refreshes the README's picture.
    byte[] picture = browser.screenshot();
    Files.createDirectories(Path.of("target"));
    Files.write(Path.of("target", "dashboard.png"), picture);
    if ("docs".equals(System.getProperty("watchcast.screenshot"))) {
      Files.write(Path.of("..", "docs", "dashboard.png"), picture);
    }
  }

  @Test
  void serverRestart_turnsDotRed_thenLiveAgain_inSyncWithChangesMadeWhileDown() throws Exception {
    server = DashboardServer.start(options(0, 0, true, true, true));
    int http = server.httpPort();
    int ws = server.wsPort();
    browser.open(server.url());
    awaitStatus("live/websocket/dot live");
    browser.await(memoryText(), v -> v.asText().contains("Project notes"), Duration.ofSeconds(5));

    server.close();
    server = null;
    awaitStatus("offline//dot offline");

    Files.writeString(dir.resolve("memory/while-down.md"), "# Written while down\n");
    Files.delete(dir.resolve("memory/todo.json"));

    server = DashboardServer.start(options(http, ws, true, true, false));
    browser.await(STATUS, v -> v.asText().startsWith("live/"), Duration.ofSeconds(20));
    browser.await(
        memoryText(),
        v -> v.asText().contains("Written while down") && !v.asText().contains("Todo"),
        Duration.ofSeconds(10));
    // From SSE the client finds its way back to WebSocket in the background.
    awaitStatus("live/websocket/dot live");
  }

  @Test
  void overHttps_pageGoesLiveOnWss_andLoadsOverHttp2() throws Exception {
    SelfSignedTls tls = SelfSignedTls.create(Files.createTempDirectory(dir, "tls"));
    browser.close(); // one that accepts the test's self-signed certificate
    browser = Browser.start(List.of("--ignore-certificate-errors"));
    server =
        DashboardServer.start(
            new DashboardServer.Options(
                dir, true, true, "127.0.0.1", 0, 0, true, true, FAST, tls.server));
    assertThat(server.url()).startsWith("https://");
    browser.open(server.url());
    awaitStatus("live/websocket/dot live"); // over wss: an https page may not open ws:
    assertThat(
            browser
                .eval(
                    "return performance.getEntriesByType('navigation')[0].nextHopProtocol"
                        + " + ' ' + location.protocol;")
                .asText())
        .isEqualTo("h2 https:");
    Files.writeString(dir.resolve("memory/secure.md"), "# Over TLS\n");
    browser.await(memoryText(), v -> v.asText().contains("Over TLS"), Duration.ofSeconds(2));
  }

  @Test
  void webSocketUnreachable_pageLivesOnSse() throws Exception {
    server = DashboardServer.start(options(0, freePort(), false, true, true));
    browser.open(server.url());
    awaitStatus("live/sse/dot fallback");
    Files.writeString(dir.resolve("memory/over-sse.md"), "# Over SSE\n");
    browser.await(memoryText(), v -> v.asText().contains("Over SSE"), Duration.ofSeconds(2));
  }

  @Test
  void webSocketAndSseUnreachable_pageLivesOnPolling() throws Exception {
    server = DashboardServer.start(options(0, freePort(), false, false, true));
    browser.open(server.url());
    awaitStatus("polling/polling/dot fallback");
    Files.writeString(dir.resolve("memory/polled.md"), "# Polled\n");
    browser.await(memoryText(), v -> v.asText().contains("Polled"), Duration.ofSeconds(3));
  }

  private DashboardServer.Options options(
      int http, int ws, boolean websocket, boolean sse, boolean demoContent) {
    return new DashboardServer.Options(
        dir, demoContent, demoContent, "127.0.0.1", http, ws, websocket, sse, FAST);
  }

  private void awaitStatus(String expected) throws Exception {
    JsonNode last = browser.await(STATUS, v -> v.asText().equals(expected), Duration.ofSeconds(20));
    assertThat(last.asText()).isEqualTo(expected);
  }

  private static String memoryText() {
    return "return document.getElementById('memory').textContent;";
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
