package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The transport must hear about a slow-consumer close, or it keeps the socket open forever. The hub
 * closes at once ({@code stallTimeout} zero): what is tested is the signal.
 */
final class SlowConsumerSignalTest {

  @Test
  void publish_pastTheQueueLimit_closesTheConnectionThroughItsTransport() {
    Limits limits = Limits.builder().maxQueuedBytes(1000).stallTimeout(Duration.ZERO).build();
    try (ConnectionManager hub = ConnectionManager.builder().limits(limits).build()) {
      FakeConnection c = new FakeConnection();
      c.attach(hub.register(c));
      c.session().receive("{\"action\":\"subscribe\",\"topic\":\"feed\"}");
      assertThat(c.next().type()).isEqualTo("subscribed");
      c.stall();
      String pad = "x".repeat(300);
      for (int i = 0; i < 10; i++) {
        hub.publish("feed", pad);
      }
      assertThat(hub.stats().slowConsumersClosed()).isEqualTo(1);
      assertThat(c.closeReason()).isNotNull();
      assertThat(c.closeReason().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
      assertThat(hub.stats().connections()).isZero();
    }
  }
}
