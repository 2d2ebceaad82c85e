package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import io.watchcast.testing.SelfSignedTls;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tls(SSLContext)}: wss with a real keytool-made certificate and the JDK's client. */
final class WssTest {
  @TempDir static Path dir;
  static SelfSignedTls tls;
  static HttpClient https;

  private final ConnectionManager hub =
      ConnectionManager.builder()
          .limits(Limits.builder().maxQueuedBytes(64L << 20).build())
          .build();
  private WebSocketTransport transport;

  @BeforeAll
  static void certificate() throws Exception {
    tls = SelfSignedTls.create(dir);
    https = HttpClient.newBuilder().sslContext(tls.client).build();
  }

  @AfterEach
  void tearDown() {
    if (transport != null) {
      transport.close();
    }
    hub.close();
  }

  private String start() throws Exception {
    transport = WebSocketTransport.builder(hub).tls(tls.server).build();
    transport.start();
    assertThat(transport.uri()).startsWith("wss://127.0.0.1:");
    return "wss://localhost:" + transport.port() + "/ws";
  }

  private static TestClient connect(String uri) throws Exception {
    return TestClient.connectAsync(https, uri, Map.of()).get(20, TimeUnit.SECONDS);
  }

  @Test
  void wss_subscribeReceiveInOrder_pingPong() throws Exception {
    String uri = start();
    List<TestClient> clients = new ArrayList<>();
    try {
      for (int i = 0; i < 5; i++) {
        TestClient c = connect(uri + "?topic=t");
        clients.add(c);
        c.next("subscribed");
      }
      for (int i = 1; i <= 200; i++) {
        hub.publish("t", i);
      }
      for (TestClient c : clients) {
        for (int i = 1; i <= 200; i++) {
          Envelope e = c.next("update");
          assertThat(e.id()).isEqualTo(i);
          assertThat(e.data().asInt()).isEqualTo(i);
        }
      }
      TestClient c = clients.get(0);
      c.send("{\"action\":\"ping\"}");
      assertThat(c.next().type()).isEqualTo("pong");
    } finally {
      clients.forEach(TestClient::close);
    }
  }

  @Test
  void wss_backlogOfLargeFrames_arrivesWhole_andInOrder() throws Exception {
    // Many frames queued at once go through the pull marker and TLS records of up to 16 KiB.
    String uri = start();
    try (TestClient c = connect(uri + "?topic=big")) {
      c.next("subscribed");
      String payload = "\"" + "y".repeat(30_000) + "\"";
      for (int i = 0; i < 300; i++) {
        hub.publish("big", RawJson.of(payload));
      }
      for (int i = 1; i <= 300; i++) {
        Envelope e = c.next("update");
        assertThat(e.id()).isEqualTo(i);
        assertThat(e.data().asText()).hasSize(30_000);
      }
    }
  }

  @Test
  void cleartextClient_onTheTlsPort_isNotServed() throws Exception {
    start();
    try {
      TestClient c =
          TestClient.connectAsync(
                  HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build(),
                  "ws://127.0.0.1:" + transport.port() + "/ws?topic=t",
                  Map.of())
              .get(30, TimeUnit.SECONDS);
      c.close();
      throw new AssertionError("a cleartext client was served on the TLS port");
    } catch (ExecutionException expected) {
      // the handshake bytes are not TLS: the server drops the connection
    }
    // and the transport still serves TLS clients
    try (TestClient c = connect("wss://localhost:" + transport.port() + "/ws?topic=t")) {
      c.next("subscribed");
    }
  }

  @Test
  void close_sendsGoingAwayOverTls() throws Exception {
    String uri = start();
    try (TestClient c = connect(uri)) {
      transport.close();
      assertThat(c.awaitClose().code()).isEqualTo(1001);
    }
  }

  @Test
  void silentClient_isDroppedAfterTheHandshakeTimeout_withoutSpinningTheSelector()
      throws Exception {
    // Connects and never starts TLS (or sends anything): the handshake timeout still applies. And
    // Java-WebSocket's TLS channel wants to write for the whole handshake; unrepaired, such a
    // client kept the selector thread busy until the timeout.
    transport =
        WebSocketTransport.builder(hub)
            .tls(tls.server)
            .handshakeTimeout(Duration.ofMillis(1500))
            .build();
    transport.start();
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    Thread selector =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("WebSocketSelector"))
            .findFirst()
            .orElseThrow();
    long cpu0 = threads.getThreadCpuTime(selector.getId());
    long start = System.nanoTime();
    try (java.net.Socket silent = new java.net.Socket("127.0.0.1", transport.port())) {
      silent.setSoTimeout(15_000);
      // Closed by the server: perhaps a TLS alert record first (close_notify), then the end.
      byte[] buf = new byte[256];
      while (silent.getInputStream().read(buf) >= 0) {
        // the alert
      }
    }
    long wall = System.nanoTime() - start;
    long cpu = threads.getThreadCpuTime(selector.getId()) - cpu0;
    assertThat(Duration.ofNanos(wall)).isLessThan(Duration.ofSeconds(10));
    // A spinning selector uses its whole core; an idle one next to nothing. The bound is loose.
    assertThat(cpu).as("selector CPU ns in %d ns", wall).isLessThan(wall / 4);
  }

  @Test
  void uninitializedSslContext_isRefusedByTheBuilder() throws Exception {
    javax.net.ssl.SSLContext raw = javax.net.ssl.SSLContext.getInstance("TLS"); // no init()
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> WebSocketTransport.builder(hub).tls(raw))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("SSLContext");
  }
}
