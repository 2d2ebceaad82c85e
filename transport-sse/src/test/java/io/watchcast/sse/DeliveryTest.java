package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;

final class DeliveryTest {

  @Test
  void stalledReader_isAbortedAfterWriteTimeout_whileOthersKeepReceiving() throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(256L << 20).build())
            .build();
    try (Harness h = new Harness(hub, b -> b.writeTimeout(Duration.ofSeconds(6)));
        SseClient fast = h.stream("/events?topic=flood");
        StalledReader stalled = StalledReader.open(h, "/events?topic=flood")) {
      fast.nextOfType("subscribed");
      assertThat(stalled.awaitHeaders()).startsWith("HTTP/1.1 200");
      Harness.await("two streams", () -> h.transport.streamCount() == 2);
      String payload = "\"" + "x".repeat(40_000) + "\"";
      int count = 400; // 16 MB: far more than the kernel buffers of the stalled socket
      for (int i = 0; i < count; i++) {
        hub.publish("flood", RawJson.of(payload));
      }
      for (int i = 1; i <= count; i++) {
        assertThat(Envelope.parse(fast.nextOfType("update").data()).id()).isEqualTo(i);
      }
      // The fast stream got everything while the stalled one was still open: no waiting on it.
      assertThat(h.transport.streamCount()).isEqualTo(2);
      Harness.await(
          "the stalled stream to be aborted",
          Duration.ofSeconds(20),
          () -> h.transport.streamCount() == 1);
      assertThat(stalled.isClosedByServer()).isTrue();
      assertThat(hub.stats().slowConsumersClosed()).isZero();
      // The fast stream is unaffected.
      hub.publish("flood", RawJson.of("1"));
      assertThat(Envelope.parse(fast.nextOfType("update").data()).id()).isEqualTo(count + 1);
    }
  }

  @Test
  void thousandConcurrentStreams_allReceiveEveryMessage_withBoundedThreads() throws Exception {
    int n = 1000;
    try (Harness h = Harness.start(b -> b.maxThreads(32))) {
      HttpClient client =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(10))
              .build();
      List<SseClient> clients = new ArrayList<>();
      try {
        for (int i = 0; i < n; i++) {
          clients.add(SseClient.open(client, h.uri("/events?topic=t")));
        }
        Harness.await("1000 streams", Duration.ofSeconds(60), () -> h.transport.streamCount() == n);
        for (SseClient c : clients) {
          c.nextOfType("subscribed");
        }
        long serverThreads =
            Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("watchcast-sse"))
                .count();
        assertThat(serverThreads).isLessThanOrEqualTo(32);
        for (int i = 1; i <= 3; i++) {
          h.hub.publish("t", Map.of("n", i));
        }
        for (SseClient c : clients) {
          for (int i = 1; i <= 3; i++) {
            assertThat(Envelope.parse(c.nextOfType("update").data()).id()).isEqualTo(i);
          }
        }
        assertThat(h.hub.topic("t").orElseThrow().subscribers()).isEqualTo(n);
      } finally {
        clients.forEach(SseClient::close);
      }
    }
  }

  @Test
  void h2c_manyStreamsShareOneConnection() throws Exception {
    try (Harness h = Harness.start()) {
      HttpClient client =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_2)
              .connectTimeout(Duration.ofSeconds(10))
              .build();
      // The first request upgrades the connection to h2c; later requests share it.
      HttpResponse<String> first =
          client.send(
              HttpRequest.newBuilder(h.uri("/api/topics")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);
      List<SseClient> streams = new ArrayList<>();
      try {
        for (int i = 0; i < 50; i++) {
          streams.add(SseClient.open(client, h.uri("/events?topic=t")));
        }
        for (SseClient c : streams) {
          assertThat(c.awaitResponse().version()).isEqualTo(HttpClient.Version.HTTP_2);
          c.nextOfType("subscribed");
        }
        h.hub.publish("t", "hello");
        for (SseClient c : streams) {
          assertThat(Envelope.parse(c.nextOfType("update").data()).data().asText())
              .isEqualTo("hello");
        }
        // Closing one stream resets only that stream.
        streams.get(0).close();
        Harness.await("one stream fewer", () -> h.transport.streamCount() == 49);
        h.hub.publish("t", "again");
        for (SseClient c : streams.subList(1, streams.size())) {
          assertThat(Envelope.parse(c.nextOfType("update").data()).data().asText())
              .isEqualTo("again");
        }
      } finally {
        streams.forEach(SseClient::close);
      }
    }
  }

  @Test
  void close_endsEveryStreamPromptly_andIsIdempotent() throws Exception {
    Harness h = Harness.start();
    List<SseClient> clients = new ArrayList<>();
    try (StalledReader stalled = StalledReader.open(h, "/events?topic=t")) {
      stalled.awaitHeaders();
      for (int i = 0; i < 5; i++) {
        clients.add(h.stream("/events?topic=t"));
      }
      for (SseClient c : clients) {
        c.nextOfType("subscribed");
      }
      long start = System.nanoTime();
      h.transport.close();
      h.transport.close();
      for (SseClient c : clients) {
        c.awaitEnd();
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
      assertThat(stalled.isClosedByServer()).isTrue();
      assertThat(h.transport.streamCount()).isZero();
      assertThat(h.hub.stats().connections()).isZero();
    } finally {
      h.close();
    }
  }

  @Test
  void jettyHandler_mountsInOwnServer_andPassesOtherPathsOn() throws Exception {
    try (ConnectionManager hub = ConnectionManager.builder().build();
        SseTransport sse = SseTransport.builder(hub).build()) {
      Server server = new Server();
      ServerConnector connector = new ServerConnector(server);
      connector.setHost("127.0.0.1");
      connector.setPort(0);
      server.addConnector(connector);
      Handler mine =
          new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
              response.setStatus(200);
              response.write(
                  true,
                  java.nio.ByteBuffer.wrap("mine".getBytes(StandardCharsets.UTF_8)),
                  callback);
              return true;
            }
          };
      server.setHandler(new Handler.Sequence(sse.jettyHandler(), mine));
      server.start();
      try {
        String base = "http://127.0.0.1:" + connector.getLocalPort();
        HttpClient client = HttpClient.newHttpClient();
        assertThat(
                client
                    .send(
                        HttpRequest.newBuilder(URI.create(base + "/hello")).build(),
                        HttpResponse.BodyHandlers.ofString())
                    .body())
            .isEqualTo("mine");
        try (SseClient c = SseClient.open(client, URI.create(base + "/events?topic=t"))) {
          c.nextOfType("subscribed");
          hub.publish("t", 1);
          assertThat(c.nextOfType("update")).isNotNull();
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(sse::start)
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("own server");
      } finally {
        server.stop();
      }
    }
  }
}
