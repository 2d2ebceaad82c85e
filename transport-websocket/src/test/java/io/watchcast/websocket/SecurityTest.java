package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Origin check, authentication, authorization, connection limits, handshake limits. */
final class SecurityTest {
  private ConnectionManager hub = ConnectionManager.builder().build();
  private WebSocketTransport transport;

  @AfterEach
  void tearDown() {
    if (transport != null) {
      transport.close();
    }
    hub.close();
  }

  private String start(WebSocketTransport.Builder b) throws IOException {
    transport = b.build();
    transport.start();
    return transport.uri();
  }

  private static Map<String, String> origin(String origin) {
    return Map.of("Origin", origin);
  }

  private static void assertOpens(String uri, Map<String, String> headers) {
    try (TestClient c = TestClient.connect(uri, headers)) {
      c.send("{\"action\":\"ping\"}");
      c.next("pong");
    }
  }

  // Origin

  @Test
  void origin_localhostOnAnyPort_isAllowedByDefault() throws IOException {
    String uri = start(WebSocketTransport.builder(hub));
    assertOpens(uri, origin("http://localhost:3000"));
    assertOpens(uri, origin("https://127.0.0.1"));
    assertOpens(uri, origin("http://[::1]:8080"));
  }

  @Test
  void origin_foreign_isRefusedWith403() throws IOException {
    String uri = start(WebSocketTransport.builder(hub));
    assertThat(TestClient.refusedStatus(uri, origin("https://evil.example"))).isEqualTo(403);
    assertThat(TestClient.refusedStatus(uri, origin("http://localhost.evil.example")))
        .isEqualTo(403);
    assertThat(transport.stats().rejected()).isEqualTo(2);
  }

  @Test
  void origin_nullOrGarbage_isRefusedWith403() throws IOException {
    String uri = start(WebSocketTransport.builder(hub));
    assertThat(TestClient.refusedStatus(uri, origin("null"))).isEqualTo(403);
    assertThat(TestClient.refusedStatus(uri, origin("file://localhost"))).isEqualTo(403);
    assertThat(TestClient.refusedStatus(uri, origin("::::"))).isEqualTo(403);
  }

  @Test
  void origin_missing_isAllowed_asANonBrowserClient() throws IOException {
    String uri = start(WebSocketTransport.builder(hub));
    assertOpens(uri, Map.of());
  }

  @Test
  void hostNames_areAllowedOnAnySchemeAndPort() throws IOException {
    String uri = start(WebSocketTransport.builder(hub).hostNames("Dash.Example.com"));
    assertOpens(uri, origin("https://dash.example.com:8443"));
    assertOpens(uri, origin("http://localhost"));
    assertThat(TestClient.refusedStatus(uri, origin("https://example.com"))).isEqualTo(403);
  }

  @Test
  void allowedOrigins_matchExactly() throws IOException {
    String uri = start(WebSocketTransport.builder(hub).allowedOrigins("https://app.example.com"));
    assertOpens(uri, origin("https://app.example.com"));
    assertThat(TestClient.refusedStatus(uri, origin("https://app.example.com:444"))).isEqualTo(403);
    assertThat(TestClient.refusedStatus(uri, origin("http://app.example.com"))).isEqualTo(403);
  }

  @Test
  void allowAnyOrigin_allowsForeignOrigins() throws IOException {
    String uri = start(WebSocketTransport.builder(hub).allowAnyOrigin());
    assertOpens(uri, origin("https://evil.example"));
  }

  // Authentication and authorization

  @Test
  void authenticator_seesTheHandshake_andRefusesWith401Or403() throws IOException {
    BlockingQueue<Handshake> seen = new LinkedBlockingQueue<>();
    String uri =
        start(
            WebSocketTransport.builder(hub)
                .authenticator(
                    h -> {
                      seen.add(h);
                      String token =
                          h.cookie("session").orElse(h.queryParameter("token").orElse(""));
                      if (token.isEmpty()) {
                        return Authentication.unauthorized("log in first");
                      }
                      if (token.equals("banned")) {
                        return Authentication.forbidden("banned");
                      }
                      return Authentication.allow("user:" + token);
                    }));
    assertThat(TestClient.refusedStatus(uri, Map.of())).isEqualTo(401);
    assertThat(TestClient.refusedStatus(uri + "?token=banned", Map.of())).isEqualTo(403);
    assertOpens(uri + "?token=alice", Map.of());
    assertOpens(uri, Map.of("Cookie", "theme=dark; session=bob", "X-Custom", "v"));
    seen.clear();
    assertOpens(uri, Map.of("Cookie", "session=carol", "X-Custom", "v"));
    Handshake h = seen.poll();
    assertThat(h.path()).isEqualTo("/ws");
    assertThat(h.header("x-custom")).contains("v");
    assertThat(h.header("X-CUSTOM")).contains("v");
    assertThat(h.cookie("session")).contains("carol");
    assertThat(h.remoteAddress().getAddress().isLoopbackAddress()).isTrue();
    assertThat(h.remoteAddress().getPort()).isPositive();
  }

  @Test
  void authenticator_refusal_bodyCarriesTheMessage() throws IOException {
    start(
        WebSocketTransport.builder(hub)
            .authenticator(h -> Authentication.unauthorized("token missing")));
    try (RawClient raw = new RawClient(transport.port())) {
      assertThat(raw.handshake("/ws", Map.of())).isEqualTo(401);
      assertThat(raw.responseHead).contains("Content-Length:").contains("Connection: close");
      byte[] body = raw.in.readNBytes("token missing\n".length());
      assertThat(new String(body, java.nio.charset.StandardCharsets.UTF_8))
          .isEqualTo("token missing\n");
      assertThat(raw.awaitEof()).isTrue();
    }
  }

  @Test
  void authenticator_throwing_refusesWith500() throws IOException {
    String uri =
        start(
            WebSocketTransport.builder(hub)
                .authenticator(
                    h -> {
                      throw new IllegalStateException("boom");
                    }));
    assertThat(TestClient.refusedStatus(uri, Map.of())).isEqualTo(500);
  }

  @Test
  void principal_reachesTheHubsAuthorizer_whichAnswersForbiddenAndKeepsTheConnection()
      throws IOException {
    hub.close();
    hub =
        ConnectionManager.builder()
            .authorizer(
                (connection, topic) ->
                    !topic.startsWith("admin")
                        || connection.principal().map("root"::equals).orElse(false))
            .build();
    String uri =
        start(
            WebSocketTransport.builder(hub)
                .authenticator(
                    h -> Authentication.allow(h.queryParameter("user").orElse("guest"))));
    try (TestClient guest = TestClient.connect(uri + "?user=guest");
        TestClient root = TestClient.connect(uri + "?user=root")) {
      guest.send("{\"action\":\"subscribe\",\"topic\":\"admin.logs\"}");
      Envelope e = guest.next("error");
      assertThat(e.data().get("code").asText()).isEqualTo("forbidden");
      guest.send("{\"action\":\"subscribe\",\"topic\":\"public\"}");
      guest.next("subscribed");
      root.send("{\"action\":\"subscribe\",\"topic\":\"admin.logs\"}");
      root.next("subscribed");
    }
  }

  // Connection limits

  @Test
  void maxConnections_pastTheLimit_isRefusedWith503_andAPlaceFreesOnClose() throws IOException {
    String uri = start(WebSocketTransport.builder(hub).maxConnections(3));
    List<TestClient> open = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      open.add(TestClient.connect(uri));
    }
    assertThat(TestClient.refusedStatus(uri, Map.of())).isEqualTo(503);
    open.remove(0).close();
    awaitConnections(2);
    TestClient again = TestClient.connect(uri);
    open.add(again);
    assertThat(TestClient.refusedStatus(uri, Map.of())).isEqualTo(503);
    open.forEach(TestClient::close);
  }

  @Test
  void maxConnectionsPerAddress_pastTheLimit_isRefusedWith429_otherAddressesAreNot()
      throws IOException {
    start(WebSocketTransport.builder(hub).maxConnectionsPerAddress(2));
    try (RawClient a = new RawClient(transport.port());
        RawClient b = new RawClient(transport.port());
        RawClient c = new RawClient(transport.port());
        RawClient other = new RawClient(transport.port(), 0, "127.0.0.2")) {
      assertThat(a.handshake("/ws", Map.of())).isEqualTo(101);
      assertThat(b.handshake("/ws", Map.of())).isEqualTo(101);
      assertThat(c.handshake("/ws", Map.of())).isEqualTo(429);
      assertThat(other.handshake("/ws", Map.of())).isEqualTo(101);
    }
  }

  private void awaitConnections(int n) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (transport.stats().connections() != n) {
      assertThat(System.nanoTime()).as("connections never became %d", n).isLessThan(deadline);
      Thread.onSpinWait();
    }
  }

  // Handshake limits

  @Test
  void handshake_neverNegotiatesPermessageDeflate() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (RawClient raw = new RawClient(transport.port())) {
      int status =
          raw.handshake(
              "/ws",
              Map.of("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"));
      assertThat(status).isEqualTo(101);
      assertThat(raw.responseHead.toLowerCase()).doesNotContain("sec-websocket-extensions");
      raw.sendText("{\"action\":\"ping\"}");
      RawClient.Frame f = raw.readFrame();
      assertThat(f.opcode()).isEqualTo(1);
      assertThat(f.text()).contains("\"pong\"");
    }
  }

  /** A handshake of exactly {@code size} bytes, blank line included, padded with a header. */
  private static String handshakeOfSize(int size) {
    String empty = RawClient.handshakeHead("/ws", Map.of("X-Filler", ""));
    return RawClient.handshakeHead("/ws", Map.of("X-Filler", "a".repeat(size - empty.length())));
  }

  @Test
  void handshake_ofTheLimit_isServed_oneByteMore_isRefusedWith431() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (RawClient raw = new RawClient(transport.port())) {
      assertThat(raw.request(handshakeOfSize(WebSocketTransport.MAX_HANDSHAKE_BYTES)))
          .isEqualTo(101);
    }
    try (RawClient raw = new RawClient(transport.port())) {
      assertThat(raw.request(handshakeOfSize(WebSocketTransport.MAX_HANDSHAKE_BYTES + 1)))
          .isEqualTo(431);
      assertThat(raw.responseHead).contains("Connection: close");
      assertThat(raw.awaitEof()).isTrue();
    }
  }

  @Test
  void handshake_of64KiB_getsThe431_whileTheClientIsStillSendingIt() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (RawClient raw = new RawClient(transport.port())) {
      // The server refuses after 16 KiB, while the rest is on its way: it must read and discard
      // that rest, or closing would reset the connection and lose the response.
      assertThat(raw.request(handshakeOfSize(64 * 1024))).isEqualTo(431);
      assertThat(raw.awaitEof()).isTrue();
    }
    assertThat(transport.stats().rejected()).isEqualTo(1);
  }

  @Test
  void handshake_thatIsNotAWebSocketUpgrade_isRefusedWith400() throws IOException {
    start(WebSocketTransport.builder(hub));
    String valid = RawClient.handshakeHead("/ws", Map.of());
    List<String> broken =
        List.of(
            valid.replace("Upgrade: websocket\r\n", ""),
            valid.replace("Upgrade: websocket", "Upgrade: h2c"),
            valid.replace("Connection: Upgrade", "Connection: keep-alive"),
            valid.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            valid.replace("dGhlIHNhbXBsZSBub25jZQ==", "not base64 at all!!!!!!!"),
            valid.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ==")); // 11 bytes
    for (String head : broken) {
      try (RawClient raw = new RawClient(transport.port())) {
        assertThat(raw.request(head)).as(head).isEqualTo(400);
        assertThat(raw.responseHead).contains("Connection: close");
        assertThat(raw.awaitEof()).isTrue();
      }
    }
    assertThat(transport.stats().rejected()).isEqualTo(broken.size());
    assertThat(transport.stats().opened()).isZero();
  }

  @Test
  void handshake_tokensAndCase_areAsTheRfcAllows() throws IOException {
    start(WebSocketTransport.builder(hub));
    String valid = RawClient.handshakeHead("/ws", Map.of());
    String head =
        valid
            .replace("Upgrade: websocket", "upgrade: WebSocket")
            .replace("Connection: Upgrade", "Connection: keep-alive, upgrade");
    try (RawClient raw = new RawClient(transport.port())) {
      assertThat(raw.request(head)).isEqualTo(101);
    }
  }

  @Test
  void handshake_ofAnotherVersion_isRefusedWith426_namingVersion13() throws IOException {
    start(WebSocketTransport.builder(hub));
    String head =
        RawClient.handshakeHead("/ws", Map.of())
            .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
    try (RawClient raw = new RawClient(transport.port())) {
      assertThat(raw.request(head)).isEqualTo(426);
      assertThat(raw.responseHead).contains("Sec-WebSocket-Version: 13\r\n");
      assertThat(raw.responseHead).contains("Connection: close");
    }
  }

  @Test
  void handshake_notSentInTime_isDropped() throws IOException {
    start(WebSocketTransport.builder(hub).handshakeTimeout(java.time.Duration.ofMillis(500)));
    try (RawClient silent = new RawClient(transport.port())) {
      long start = System.nanoTime();
      assertThat(silent.awaitEof()).isTrue();
      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(15));
    }
  }
}
