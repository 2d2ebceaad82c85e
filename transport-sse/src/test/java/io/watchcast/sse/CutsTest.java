package io.watchcast.sse;

import static io.watchcast.testing.ForcedDisconnects.CLIENTS;
import static io.watchcast.testing.ForcedDisconnects.CUTS;
import static io.watchcast.testing.ForcedDisconnects.FAST;
import static io.watchcast.testing.ForcedDisconnects.TOPICS;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.Await;
import io.watchcast.testing.CuttingProxy;
import io.watchcast.testing.ForcedDisconnects;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Forced disconnects at scale over SSE ({@link ForcedDisconnects}): streams of three topics through
 * a {@link CuttingProxy}, resumed with the last event id while 1,000 cuts hit them; half the
 * clients send it as {@code Last-Event-ID}, half as the {@code lastEventId} query parameter.
 */
final class CutsTest {

  @Test
  void thousandCuts_whilePublishingOnThreeTopics_everyClientGetsEveryIdOnceInOrder()
      throws Exception {
    List<ResumingSseClient> clients = new ArrayList<>();
    try (Harness h = new Harness(ForcedDisconnects.hub(), t -> {});
        CuttingProxy proxy = CuttingProxy.start(h.transport.port())) {
      String base = "http://127.0.0.1:" + proxy.port();
      for (int i = 0; i < CLIENTS; i++) {
        clients.add(new ResumingSseClient("client-" + i, h.http, base, TOPICS, FAST, i % 2 == 1));
      }
      Await.await(
          () -> clients.stream().allMatch(ResumingSseClient::isLive),
          "every client subscribed",
          Duration.ofSeconds(30));

      ForcedDisconnects.Result r =
          ForcedDisconnects.run(
              h.hub, TOPICS, proxy, clients.stream().map(ResumingSseClient::log).toList(), CUTS);

      System.out.println("sse: " + r);
      for (ResumingSseClient c : clients) {
        assertThat(c.refusals()).as("%s: refused requests", c.log()).isEmpty();
      }
    } finally {
      clients.forEach(ResumingSseClient::close);
    }
  }
}
