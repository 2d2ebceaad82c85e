package io.watchcast;

import static io.watchcast.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The transport must hear about a slow-consumer close that happens during a publish's fan-out.
 * These hubs close at once ({@code stallTimeout} zero): what is tested is the signal, not when a
 * reader counts as stalled (see {@link LagTest}).
 */
final class SlowConsumerCloseTest {
  private static final Limits CLOSE_AT_ONCE =
      Limits.builder().maxQueuedBytes(100).stallTimeout(Duration.ZERO).build();

  @Test
  void publish_queuePassesLimit_transportIsToldToClose() {
    try (ConnectionManager hub = ConnectionManager.builder().limits(CLOSE_AT_ONCE).build()) {
      FakeConnection c = new FakeConnection();
      c.attach(hub.register(c));
      c.stall();
      c.session().subscribe("t", -1, null);
      String payload = "\"" + "x".repeat(80) + "\"";
      hub.publish("t", RawJson.of(payload));
      hub.publish("t", RawJson.of(payload));

      assertThat(c.closeReason()).isNotNull();
      assertThat(c.closeReason().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
      assertThat(hub.stats().connections()).isZero();
    }
  }

  @Test
  void batchFlush_queuePassesLimit_transportIsToldToClose() throws Exception {
    try (ConnectionManager hub =
        ConnectionManager.builder()
            .limits(CLOSE_AT_ONCE)
            .topic("t", TopicOptions.of(Throttle.batch(Duration.ofMillis(1), 1000)))
            .build()) {
      FakeConnection c = new FakeConnection();
      c.attach(hub.register(c));
      c.stall();
      c.session().subscribe("t", -1, null);
      String payload = "\"" + "x".repeat(80) + "\"";
      hub.publish("t", RawJson.of(payload)); // first of a quiet period: emitted at once
      hub.publish("t", RawJson.of(payload)); // batched, emitted by the scheduler's flush
      await(() -> c.closeReason() != null, "the slow-consumer close", Duration.ofSeconds(5));
      assertThat(c.closeReason()).isNotNull();
      assertThat(c.closeReason().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    }
  }
}
