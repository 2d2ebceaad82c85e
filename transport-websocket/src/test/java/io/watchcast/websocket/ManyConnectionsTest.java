package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** 1,000 concurrent connections, each receiving every message. */
final class ManyConnectionsTest {
  private static final int CLIENTS = 1000;
  private static final int MESSAGES = 20;

  @Test
  void thousandConnections_eachReceiveEveryMessage() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    List<TestClient> clients = new ArrayList<>();
    try (ConnectionManager hub = ConnectionManager.builder().build();
        WebSocketTransport transport =
            WebSocketTransport.builder(hub).maxConnectionsPerAddress(CLIENTS).build()) {
      transport.start();
      String uri = transport.uri() + "?topic=news";
      for (int batch = 0; batch < CLIENTS; batch += 100) {
        List<CompletableFuture<TestClient>> opening = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
          opening.add(TestClient.connectAsync(http, uri, Map.of()));
        }
        for (CompletableFuture<TestClient> f : opening) {
          clients.add(f.get(60, TimeUnit.SECONDS));
        }
      }
      for (TestClient c : clients) {
        c.next("subscribed");
      }
      assertThat(transport.stats().connections()).isEqualTo(CLIENTS);
      assertThat(hub.topic("news").orElseThrow().subscribers()).isEqualTo(CLIENTS);
      for (int i = 1; i <= MESSAGES; i++) {
        hub.publish("news", i);
      }
      for (TestClient c : clients) {
        for (int i = 1; i <= MESSAGES; i++) {
          assertThat(c.next("update").id()).isEqualTo(i);
        }
      }
      assertThat(transport.stats().framesSent()).isEqualTo((long) CLIENTS * (MESSAGES + 1));
    } finally {
      clients.forEach(TestClient::close);
    }
  }
}
