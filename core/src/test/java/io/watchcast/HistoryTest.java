package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;

/** The history ring: bounded by count and age, contiguous ids, memory by use. */
final class HistoryTest {

  private static EncodedMessage message(long id) {
    return Envelopes.encode("update", "t", new byte[] {'1'}, 0, id, "e", false);
  }

  @Test
  void add_pastCapacity_dropsTheOldest_andKeepsIdsContiguous() {
    History h = new History(3, Long.MAX_VALUE);
    for (long id = 1; id <= 5; id++) {
      h.add(message(id), id);
    }

    assertThat(h.size()).isEqualTo(3);
    assertThat(h.firstId()).isEqualTo(3);
    assertThat(h.get(0).id()).isEqualTo(3);
    assertThat(h.get(2).id()).isEqualTo(5);
  }

  @Test
  void prune_dropsOnlyMessagesOlderThanTheAge_notThoseExactlyAtIt() {
    History h = new History(10, 100);
    h.add(message(1), 0);
    h.add(message(2), 50);

    h.prune(100);
    assertThat(h.firstId()).isEqualTo(1);
    h.prune(101);
    assertThat(h.firstId()).isEqualTo(2);
    h.prune(151);
    assertThat(h.size()).isZero();
    assertThat(h.firstId()).isEqualTo(-1);
  }

  @Test
  void capacityZero_keepsNothing() {
    History h = new History(0, Long.MAX_VALUE);
    h.add(message(1), 0);
    h.prune(0);
    assertThat(h.size()).isZero();
    assertThat(h.firstId()).isEqualTo(-1);
  }

  @Test
  void aHugeCapacity_costsMemoryByUse_notUpFront() {
    // A user who wants "everything" within the age bound may say Integer.MAX_VALUE.
    History h = new History(Integer.MAX_VALUE, Long.MAX_VALUE);
    for (long id = 1; id <= 10_000; id++) {
      h.add(message(id), id);
    }

    assertThat(h.size()).isEqualTo(10_000);
    assertThat(h.firstId()).isEqualTo(1);
    for (int i = 0; i < 10_000; i++) {
      assertThat(h.get(i).id()).isEqualTo(i + 1);
    }
  }

  @Test
  void growingAfterWrappingAndPruning_keepsOrder() {
    History h = new History(1_000, 1_000);
    long id = 0;
    for (int round = 0; round < 50; round++) {
      for (int i = 0; i < 37; i++) {
        id++;
        h.add(message(id), id * 10);
      }
      h.prune(id * 10);
      long first = h.firstId();
      for (int i = 0; i < h.size(); i++) {
        assertThat(h.get(i).id()).isEqualTo(first + i);
      }
      assertThat(h.get(h.size() - 1).id()).isEqualTo(id);
    }
    assertThat(h.size()).isEqualTo(101); // ages 0..1,000 inclusive, 10 apart
  }

  @Test
  void topicWithAnUnboundedHistory_worksThroughTheHub() {
    ManualScheduler time = new ManualScheduler();
    TopicOptions forever =
        TopicOptions.defaults().withHistory(Integer.MAX_VALUE, ChronoUnit.FOREVER.getDuration());
    try (ConnectionManager hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .defaultTopicOptions(forever)
            .build()) {
      for (int i = 1; i <= 100; i++) {
        assertThat(hub.publish("t", i)).isTrue();
      }
      time.advance(Duration.ofDays(365));
      FakeConnection c = FakeConnection.connect(hub);

      c.send(ClientMessages.subscribe("t", 0, hub.topic("t").orElseThrow().epoch()));

      assertThat(c.next().type()).isEqualTo("subscribed");
      for (int i = 1; i <= 100; i++) {
        assertThat(c.next().id()).isEqualTo(i);
      }
      c.assertExhausted();
    }
  }
}
