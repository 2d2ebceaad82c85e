package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.RawJson;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import io.watchcast.testing.Await;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Streams whose client stops reading, over a raw socket with a small receive buffer: what the
 * kernel may hold for them, and how they end.
 */
final class SlowConsumerTest {
  private static final RawJson KILOBYTE = RawJson.of("\"" + "x".repeat(1000) + "\"");

  @Test
  void slowConsumer_isReset_soItsClientReadsNoStaleBacklog() throws Exception {
    // A send buffer of megabytes (as the operating system's own grows to): the reset alone must
    // spare the client the backlog that sits in it.
    try (Harness h = Harness.withOutbox(64 * 1024, b -> b.sendBufferBytes(1 << 20));
        StalledReader stalled = StalledReader.open(h, "/events?topic=flood")) {
      ConnectionManager hub = h.hub;
      stalled.awaitHeaders();
      Await.await(() -> h.transport.streamCount() == 1, "the stream");
      // A steady flow, so that the kernel's buffers fill before the hub's outbox passes its limit.
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (h.transport.streamCount() > 0) {
        assertThat(System.nanoTime()).as("slow-consumer close within 20 s").isLessThan(deadline);
        for (int i = 0; i < 4; i++) {
          hub.publish("flood", KILOBYTE);
        }
        LockSupport.parkNanos(500_000);
      }
      assertThat(hub.stats().slowConsumersClosed()).isEqualTo(1);

      long read = stalled.readToEnd();

      // Only what already sat in the client's own small receive buffer; megabytes with a FIN.
      assertThat(read).as("bytes read before the stream ended").isBetween(0L, 64L * 1024);
    }
  }

  @Test
  void stalledLatestStream_readsTheCurrentValueAfterABoundedBacklog() throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder()
            .topic("state", TopicOptions.of(Throttle.latest(Duration.ofMillis(1))))
            .build();
    try (Harness h = new Harness(hub, b -> {});
        StalledReader stalled = StalledReader.open(h, "/events?topic=state")) {
      stalled.awaitHeaders();
      Await.await(() -> h.transport.streamCount() == 1, "the stream");
      // 4 MB of values at a steady pace while the client reads nothing.
      for (int i = 0; i < 4000; i++) {
        hub.publish("state", KILOBYTE);
        LockSupport.parkNanos(500_000);
      }
      // The throttle may still emit the last value after this: wait for this id or a later one.
      long current = hub.topic("state").orElseThrow().id();

      long read = stalled.readUntilMessage(current);

      // The default send buffer (64 KiB, 128 KiB in Linux's count), one write in flight and the
      // client's buffer: then the hub conflated, and the current value comes next. With the
      // autotuned buffer: megabytes of old values first.
      assertThat(read).as("bytes read up to the current value").isLessThan(512L * 1024);
      assertThat(h.transport.streamCount()).isEqualTo(1);
      assertThat(hub.stats().slowConsumersClosed()).isZero();
    }
  }
}
