package io.watchcast.websocket;

import static io.watchcast.testing.ForcedDisconnects.CLIENTS;
import static io.watchcast.testing.ForcedDisconnects.CUTS;
import static io.watchcast.testing.ForcedDisconnects.FAST;
import static io.watchcast.testing.ForcedDisconnects.TOPICS;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.testing.Await;
import io.watchcast.testing.CuttingProxy;
import io.watchcast.testing.ForcedDisconnects;
import io.watchcast.testing.ResumingClient;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Forced disconnects at scale ({@link ForcedDisconnects}): clients of the browser client's
 * protocol, connected through a {@link CuttingProxy}, resume with {@code since}/{@code epoch} per
 * topic while 1,000 cuts hit them.
 */
final class CutsTest {

  @Test
  void thousandCuts_whilePublishingOnThreeTopics_everyClientGetsEveryIdOnceInOrder()
      throws Exception {
    List<ResumingClient> clients = new ArrayList<>();
    // Listeners run on the client's selector thread (they never block): no hand-off per message.
    HttpClient http = HttpClient.newBuilder().executor(Runnable::run).build();
    try (ConnectionManager hub = ForcedDisconnects.hub();
        WebSocketTransport transport = WebSocketTransport.builder(hub).build()) {
      transport.start();
      try (CuttingProxy proxy = CuttingProxy.start(transport.port())) {
        String uri = "ws://127.0.0.1:" + proxy.port() + "/ws";
        for (int i = 0; i < CLIENTS; i++) {
          clients.add(ResumingClient.start("client-" + i, http, uri, TOPICS, FAST));
        }
        Await.await(
            () -> clients.stream().allMatch(ResumingClient::isLive),
            "every client subscribed",
            Duration.ofSeconds(30));

        ForcedDisconnects.Result r =
            ForcedDisconnects.run(
                hub, TOPICS, proxy, clients.stream().map(ResumingClient::log).toList(), CUTS);

        System.out.println("websocket: " + r);
        for (ResumingClient c : clients) {
          assertThat(c.errors()).as("%s: error messages", c).isEmpty();
        }
      } finally {
        clients.forEach(ResumingClient::close);
      }
    }
  }
}
