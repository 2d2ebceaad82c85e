package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** How the hub uses a user's {@link Scheduler}: never under a lock, and survives its failures. */
final class SchedulerContractTest {
  private static final Duration WINDOW = Duration.ofMillis(100);

  @Test
  void schedule_isNotCalledUnderTheTopicLock() throws Exception {
    ManualScheduler time = new ManualScheduler();
    AtomicInteger calls = new AtomicInteger();
    ConnectionManager[] ref = new ConnectionManager[1];
    Scheduler probing =
        (task, delay) -> {
          calls.incrementAndGet();
          // Another thread takes the topic's lock (snapshot does); it would hang if we held it.
          CompletableFuture.runAsync(() -> ref[0].snapshot("state"))
              .orTimeout(5, TimeUnit.SECONDS)
              .join();
          time.schedule(task, delay);
        };
    try (ConnectionManager hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(probing)
            .topic("state", TopicOptions.of(Throttle.latest(WINDOW)))
            .build()) {
      ref[0] = hub;
      hub.publish("state", 1);
      hub.publish("state", 2); // inside the window: asks for a flush
      assertThat(calls.get()).isEqualTo(1);
    }
  }

  @Test
  void schedulerThatThrowsOnce_doesNotStopTheTopicFromFlushingLater() {
    ManualScheduler time = new ManualScheduler();
    AtomicInteger failures = new AtomicInteger(1);
    Scheduler flaky =
        (task, delay) -> {
          if (failures.getAndDecrement() > 0) {
            throw new IllegalStateException("scheduler refused");
          }
          time.schedule(task, delay);
        };
    try (ConnectionManager hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(flaky)
            .topic("state", TopicOptions.of(Throttle.latest(WINDOW)))
            .build()) {
      FakeConnection c = FakeConnection.connect(hub);
      c.send(ClientMessages.subscribe("state"));
      assertThat(c.next().type()).isEqualTo("subscribed");

      hub.publish("state", 1); // at once
      assertThat(c.next().data().asInt()).isEqualTo(1);
      hub.publish("state", 2); // held; the scheduler throws
      hub.publish("state", 3); // held; scheduling is asked again, and works
      time.advance(WINDOW);
      Envelope newest = c.next();
      assertThat(newest.data().asInt()).isEqualTo(3);
      c.assertExhausted();
    }
  }
}
