package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.RawJson;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

final class WebSocketTransportTest {
  private final ConnectionManager hub = ConnectionManager.builder().build();
  private WebSocketTransport transport;

  @AfterEach
  void tearDown() {
    if (transport != null) {
      transport.close();
    }
    hub.close();
  }

  private WebSocketTransport start(WebSocketTransport.Builder b) throws IOException {
    transport = b.build();
    transport.start();
    return transport;
  }

  // start, port, close

  @Test
  void start_portZero_reportsTheBoundPort() throws IOException {
    start(WebSocketTransport.builder(hub));
    assertThat(transport.port()).isPositive();
    assertThat(transport.uri()).isEqualTo("ws://127.0.0.1:" + transport.port() + "/ws");
    try (TestClient c = TestClient.connect(transport.uri())) {
      c.send("{\"action\":\"ping\"}");
      assertThat(c.next().type()).isEqualTo("pong");
    }
  }

  @Test
  void start_twice_fails() throws IOException {
    start(WebSocketTransport.builder(hub));
    assertThatThrownBy(transport::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already started");
  }

  @Test
  void start_portInUse_throwsIOException() throws IOException {
    try (ServerSocket taken =
        new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      transport = WebSocketTransport.builder(hub).port(taken.getLocalPort()).build();
      assertThatThrownBy(transport::start)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cannot bind");
    }
  }

  @Test
  void port_beforeStart_fails() {
    transport = WebSocketTransport.builder(hub).build();
    assertThatThrownBy(transport::port).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void close_sendsGoingAwayToClients_andIsIdempotent() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (TestClient c = TestClient.connect(transport.uri())) {
      transport.close();
      assertThat(c.awaitClose().code()).isEqualTo(1001);
      transport.close();
    }
    assertThatThrownBy(transport::start).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void close_releasesThePort() throws IOException {
    start(WebSocketTransport.builder(hub));
    int port = transport.port();
    transport.close();
    try (ServerSocket again = new ServerSocket()) {
      again.setReuseAddress(true);
      again.bind(new java.net.InetSocketAddress("127.0.0.1", port));
    }
  }

  // builder

  @Test
  void builder_settingTwice_fails() {
    WebSocketTransport.Builder b = WebSocketTransport.builder(hub).port(1);
    assertThatThrownBy(() -> b.port(2))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("port was already set");
  }

  @Test
  void builder_badValues_failAtOnce() {
    WebSocketTransport.Builder b = WebSocketTransport.builder(hub);
    assertThatThrownBy(() -> b.port(70000)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.path("ws")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.maxConnections(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.maxFrameBytes(10)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.sendBufferBytes(1000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0 (the system's default)");
    assertThatThrownBy(() -> b.connectionLostTimeout(Duration.ofMillis(1500)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("whole seconds");
    assertThatThrownBy(() -> b.allowedOrigins("example.com"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.bindAddress("no-such-host.invalid"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void publicApi_exposesNoJavaWebSocketType() {
    for (Class<?> type :
        new Class<?>[] {
          WebSocketTransport.class,
          WebSocketTransport.Builder.class,
          Handshake.class,
          Authentication.class,
          Authenticator.class,
          WebSocketStats.class
        }) {
      assertThat(type.getSuperclass() == null ? "" : type.getSuperclass().getName())
          .doesNotStartWith("org.java_websocket");
      for (Method m : type.getDeclaredMethods()) {
        if (!Modifier.isPublic(m.getModifiers()) && !Modifier.isProtected(m.getModifiers())) {
          continue;
        }
        assertThat(m.getReturnType().getName()).doesNotStartWith("org.java_websocket");
        assertThat(Arrays.stream(m.getParameterTypes()).map(Class::getName))
            .noneMatch(n -> n.startsWith("org.java_websocket"));
      }
    }
    assertThat(Modifier.isPublic(Engine.class.getModifiers())).isFalse();
  }

  // protocol over the wire

  @Test
  void subscribe_receivesSubscribedThenUpdates_unsubscribeStopsThem() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (TestClient c = TestClient.connect(transport.uri())) {
      c.send("{\"action\":\"subscribe\",\"topic\":\"stats\"}");
      Envelope subscribed = c.next("subscribed");
      assertThat(subscribed.topic()).isEqualTo("stats");
      hub.publish("stats", Map.of("cpu", 45.2));
      Envelope update = c.next("update");
      assertThat(update.topic()).isEqualTo("stats");
      assertThat(update.data().get("cpu").asDouble()).isEqualTo(45.2);
      assertThat(update.id()).isEqualTo(1);
      c.send("{\"action\":\"unsubscribe\",\"topic\":\"stats\"}");
      c.next("unsubscribed");
      hub.publish("stats", Map.of("cpu", 1));
      c.send("{\"action\":\"ping\"}");
      c.next("pong"); // the publish after unsubscribe never arrived before the pong
      c.assertExhausted();
    }
  }

  @Test
  void subscribe_existingTopic_getsSnapshotFirst() throws IOException {
    start(WebSocketTransport.builder(hub));
    hub.publish("stats", RawJson.of("{\"cpu\":1}"));
    try (TestClient c = TestClient.connect(transport.uri())) {
      c.send("{\"action\":\"subscribe\",\"topic\":\"stats\"}");
      c.next("subscribed");
      Envelope snapshot = c.next("snapshot");
      assertThat(snapshot.data().get("cpu").asInt()).isEqualTo(1);
    }
  }

  @Test
  void subscribe_wildcard_receivesEveryTopic() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (TestClient c = TestClient.connect(transport.uri())) {
      c.send("{\"action\":\"subscribe\",\"topic\":\"*\"}");
      c.next("subscribed");
      hub.publish("a", 1);
      hub.publish("b", 2);
      assertThat(c.next("update").topic()).isEqualTo("a");
      assertThat(c.next("update").topic()).isEqualTo("b");
    }
  }

  @Test
  void queryTopics_subscribeOnConnect() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (TestClient c = TestClient.connect(transport.uri() + "?topic=a&topic=b%2Ec")) {
      assertThat(c.next("subscribed").topic()).isEqualTo("a");
      assertThat(c.next("subscribed").topic()).isEqualTo("b.c");
      hub.publish("b.c", 7);
      assertThat(c.next("update").data().asInt()).isEqualTo(7);
    }
  }

  @Test
  void querySinceAndEpoch_resumeOneTopic() throws IOException {
    start(WebSocketTransport.builder(hub));
    for (int i = 1; i <= 5; i++) {
      hub.publish("logs", i);
    }
    String epoch = hub.topic("logs").orElseThrow().epoch();
    try (TestClient c =
        TestClient.connect(transport.uri() + "?topic=logs&since=3&epoch=" + epoch)) {
      c.next("subscribed");
      assertThat(c.next("update").id()).isEqualTo(4);
      assertThat(c.next("update").id()).isEqualTo(5);
    }
  }

  @Test
  void querySince_withTwoTopicsOrNotANumber_isRefusedWith400() throws IOException {
    start(WebSocketTransport.builder(hub));
    assertThat(TestClient.refusedStatus(transport.uri() + "?topic=a&topic=b&since=1", Map.of()))
        .isEqualTo(400);
    assertThat(TestClient.refusedStatus(transport.uri() + "?topic=a&since=x", Map.of()))
        .isEqualTo(400);
    try (RawClient raw = new RawClient(transport.port())) {
      assertThat(raw.handshake("/ws?topic=%zz", Map.of())).isEqualTo(400);
      assertThat(raw.awaitEof()).isTrue();
    }
  }

  @Test
  void queryTopic_invalid_getsErrorAndStaysOpen() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (TestClient c = TestClient.connect(transport.uri() + "?topic=bad%20topic")) {
      Envelope e = c.next("error");
      assertThat(e.data().get("code").asText()).isEqualTo("invalid_topic");
      c.send("{\"action\":\"ping\"}");
      c.next("pong");
    }
  }

  @Test
  void otherPath_isRefusedWith404() throws IOException {
    start(WebSocketTransport.builder(hub).path("/live"));
    assertThat(TestClient.refusedStatus("ws://127.0.0.1:" + transport.port() + "/ws", Map.of()))
        .isEqualTo(404);
    try (TestClient c = TestClient.connect("ws://127.0.0.1:" + transport.port() + "/live")) {
      c.send("{\"action\":\"ping\"}");
      c.next("pong");
    }
  }

  @Test
  void stats_countOpenedConnectionsAndFrames() throws IOException {
    start(WebSocketTransport.builder(hub));
    try (TestClient c = TestClient.connect(transport.uri())) {
      c.send("{\"action\":\"ping\"}");
      c.next("pong");
      WebSocketStats s = transport.stats();
      assertThat(s.connections()).isEqualTo(1);
      assertThat(s.opened()).isEqualTo(1);
      assertThat(s.framesSent()).isEqualTo(1);
      assertThat(s.writes()).isEqualTo(1);
    }
  }
}
