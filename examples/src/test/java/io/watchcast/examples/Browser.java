package io.watchcast.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.function.Predicate;

/**
 * A real headless Chromium driven through chromedriver's W3C WebDriver HTTP API, with nothing but
 * the JDK's HTTP client and Jackson. Enough for end-to-end tests: open a page, run a script, wait
 * for a condition, take a screenshot. Not thread-safe; one per test.
 */
final class Browser implements AutoCloseable {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Process driver;
  private final String base;
  private final String session;
  private final Path profile;

  private Browser(Process driver, String base, String session, Path profile) {
    this.driver = driver;
    this.base = base;
    this.session = session;
    this.profile = profile;
  }

  static Browser start() throws IOException, InterruptedException {
    return start(List.of());
  }

  /** With more Chromium switches, such as {@code --ignore-certificate-errors}. */
  static Browser start(List<String> extraArgs) throws IOException, InterruptedException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process driver =
        new ProcessBuilder(CHROMEDRIVER.toString(), "--port=" + port)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    String base = "http://127.0.0.1:" + port;
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(base + "/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        if (JSON.readTree(r.body()).path("value").path("ready").asBoolean()) {
          break;
        }
      } catch (IOException notYet) {
        // chromedriver is still starting
      }
      if (System.nanoTime() > deadline || !driver.isAlive()) {
        driver.destroyForcibly();
        throw new IOException("chromedriver did not start on port " + port);
      }
      Thread.onSpinWait();
      Thread.sleep(50); // polling a child process's readiness; no event to wait on
    }
    Path profile = Files.createTempDirectory("watchcast-chromium");
    ObjectNode caps = JSON.createObjectNode();
    ObjectNode options =
        caps.putObject("capabilities").putObject("alwaysMatch").putObject("goog:chromeOptions");
    options.put("binary", CHROMIUM.toString());
    ArrayNode args = options.putArray("args");
    for (String a :
        List.of(
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,860",
            "--user-data-dir=" + profile)) {
      args.add(a);
    }
    extraArgs.forEach(args::add);
    Browser partial = new Browser(driver, base, null, profile);
    JsonNode created = partial.call("POST", "/session", caps);
    String session = created.path("sessionId").asText(null);
    if (session == null) {
      driver.destroyForcibly();
      throw new IOException("chromedriver refused a session: " + created);
    }
    return new Browser(driver, base, session, profile);
  }

  void open(String url) throws IOException {
    ObjectNode body = JSON.createObjectNode().put("url", url);
    call("POST", "/session/" + session + "/url", body);
  }

  /**
   * Runs {@code script} (a function body; use {@code return}) in the page and returns its value.
   */
  JsonNode eval(String script) throws IOException {
    ObjectNode body = JSON.createObjectNode().put("script", script);
    body.putArray("args");
    return call("POST", "/session/" + session + "/execute/sync", body);
  }

  /**
   * Evaluates {@code script} until {@code done} accepts its value, or fails after {@code timeout}.
   */
  JsonNode await(String script, Predicate<JsonNode> done, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      last = eval(script);
      if (done.test(last)) {
        return last;
      }
      Thread.sleep(20); // poll interval of a deadline loop
    }
    throw new AssertionError(
        "after " + timeout.toMillis() + " ms, '" + script + "' is still " + last);
  }

  byte[] screenshot() throws IOException {
    JsonNode png = call("GET", "/session/" + session + "/screenshot", null);
    return Base64.getDecoder().decode(png.asText());
  }

  private JsonNode call(String method, String path, JsonNode body) throws IOException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    if (body == null) {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
    }
    HttpResponse<String> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    JsonNode json = JSON.readTree(r.body());
    if (r.statusCode() >= 400) {
      throw new IOException(
          "WebDriver " + method + " " + path + " -> " + r.statusCode() + ": " + json);
    }
    return json.path("value");
  }

  @Override
  public void close() {
    try {
      if (session != null) {
        call("DELETE", "/session/" + session, null);
      }
    } catch (IOException ignored) {
      // the driver goes away below anyway
    } finally {
      driver.destroy();
      try {
        if (!driver.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
          driver.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      deleteQuietly(profile);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | RuntimeException ignored) {
      // a temp profile left behind is harmless
    }
  }
}
