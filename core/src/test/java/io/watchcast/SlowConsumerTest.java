package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The bounded per-connection queue: a stalled client on a {@code none} topic (one that has read
 * nothing for {@link Limits#stallTimeout()}) is closed as a slow consumer exactly when its queue
 * would pass {@link Limits#maxQueuedBytes()}, one on a {@code latest} topic is conflated instead,
 * and neither slows anyone else down. A client that still reads lags instead: {@link LagTest}.
 */
final class SlowConsumerTest {
  private static final int LIMIT = 1000;
  private static final Duration WINDOW = Duration.ofMillis(100);
  private static final Duration STALL = Limits.DEFAULT_STALL_TIMEOUT;

  private final ManualScheduler time = new ManualScheduler();
  private ConnectionManager hub;

  private ConnectionManager hub(long maxQueuedBytes) {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .limits(Limits.builder().maxQueuedBytes(maxQueuedBytes).build())
            .topic("state", TopicOptions.of(Throttle.latest(WINDOW)))
            .build();
    return hub;
  }

  @AfterEach
  void closeHub() {
    if (hub != null) {
      hub.close();
    }
  }

  /** Subscribes, takes the {@code subscribed} reply, then stops reading. */
  private FakeConnection stalledSubscriber(String... topics) {
    FakeConnection c = subscriber(topics);
    c.stall();
    return c;
  }

  private FakeConnection subscriber(String... topics) {
    return ClientMessages.subscriber(hub, topics);
  }

  private static RawJson string(int jsonLength) {
    return RawJson.of("\"" + "x".repeat(jsonLength - 2) + "\"");
  }

  /**
   * Leaves a stalled subscriber, which has read nothing for the stall timeout, with two queued
   * messages whose sizes add up to {@code LIMIT + delta}; a draining subscriber measures the sizes
   * (both get the same encoded bytes).
   */
  private FakeConnection queueUpTo(int delta, FakeConnection reference) {
    FakeConnection stalled = stalledSubscriber("t");
    hub.publish("t", string(12));
    time.advance(STALL);
    EncodedMessage first = reference.nextRaw(Duration.ofSeconds(5));
    int overhead = first.size() - 12; // same for the second: same timestamp, one-digit id
    int secondSize = LIMIT - first.size() + delta;
    hub.publish("t", string(secondSize - overhead));
    EncodedMessage second = reference.nextRaw(Duration.ofSeconds(5));
    assertThat(first.size() + second.size()).isEqualTo(LIMIT + delta);
    return stalled;
  }

  @Test
  void queueOneByteBelowLimit_staysOpen() {
    hub(LIMIT);
    FakeConnection reference = subscriber("t");
    FakeConnection stalled = queueUpTo(-1, reference);

    assertThat(stalled.session().isClosed()).isFalse();
    assertThat(stalled.session().queuedBytes()).isEqualTo(LIMIT - 1);
    assertThat(stalled.closeReason()).isNull();
  }

  @Test
  void queueExactlyAtLimit_staysOpen_andDeliversEverythingOnResume() {
    hub(LIMIT);
    FakeConnection reference = subscriber("t");
    FakeConnection stalled = queueUpTo(0, reference);

    assertThat(stalled.session().isClosed()).isFalse();
    assertThat(stalled.session().queuedBytes()).isEqualTo(LIMIT);
    assertThat(stalled.closeReason()).isNull();
    stalled.resume();
    assertThat(stalled.next().id()).isEqualTo(1);
    assertThat(stalled.next().id()).isEqualTo(2);
    stalled.assertExhausted();
    assertThat(stalled.session().queuedBytes()).isZero();
    assertThat(hub.stats().slowConsumersClosed()).isZero();
  }

  @Test
  void queueOneBytePastLimit_afterTheStallTimeout_closesAsSlowConsumer_andTellsTheTransport() {
    hub(LIMIT);
    FakeConnection reference = subscriber("t");
    FakeConnection stalled = queueUpTo(1, reference);

    assertThat(stalled.session().isClosed()).isTrue();
    CloseReason reason = stalled.closeReason();
    assertThat(reason).isNotNull();
    assertThat(reason.code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(reason.message()).contains(String.valueOf(LIMIT)).contains("nothing was read");
    assertThat(stalled.closeCalls()).isEqualTo(1);
    assertThat(stalled.session().queuedBytes()).isZero();

    HubStats stats = hub.stats();
    assertThat(stats.slowConsumersClosed()).isEqualTo(1);
    assertThat(stats.dropped()).isEqualTo(1); // the first message, still queued
    assertThat(stats.connections()).isEqualTo(1); // only the reference is left
    assertThat(stats.subscribers()).containsEntry("t", 1);

    // The transport may report the close too; nothing is counted twice.
    stalled.session().close();
    assertThat(hub.stats().dropped()).isEqualTo(1);
    assertThat(stalled.closeCalls()).isEqualTo(1);
  }

  @Test
  void singleMessageLargerThanLimit_isAcceptedIntoAnEmptyQueue() {
    hub(LIMIT);
    FakeConnection stalled = stalledSubscriber("t");

    assertThat(hub.publish("t", string(3 * LIMIT))).isTrue();

    assertThat(stalled.session().isClosed()).isFalse();
    assertThat(stalled.session().queuedBytes()).isGreaterThan(LIMIT);
    stalled.resume();
    assertThat(stalled.next().data().asText()).hasSize(3 * LIMIT - 2);
  }

  @Test
  void stalledConnectionOnNoneTopic_isClosed_whileOthersReceiveEverything_andPublishNeverFails() {
    hub(16 * 1024);
    List<FakeConnection> readers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      readers.add(subscriber("t"));
    }
    FakeConnection stalled = stalledSubscriber("t");
    int n = 5_000;

    for (int i = 1; i <= n; i++) {
      if (i == n / 2) {
        time.advance(STALL); // until now it lagged; from now on it counts as stalled
      }
      assertThat(hub.publish("t", i)).isTrue();
    }

    assertThat(stalled.awaitClose().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    for (FakeConnection reader : readers) {
      List<Envelope> got = reader.takeAll();
      assertThat(got).hasSize(n);
      for (int i = 0; i < n; i++) {
        assertThat(got.get(i).id()).isEqualTo(i + 1);
        assertThat(got.get(i).data().asInt()).isEqualTo(i + 1);
      }
      assertThat(reader.session().isClosed()).isFalse();
    }
    HubStats stats = hub.stats();
    assertThat(stats.published()).isEqualTo(n);
    assertThat(stats.emitted()).isEqualTo(n);
    assertThat(stats.slowConsumersClosed()).isEqualTo(1);
    // 4 subscribed replies were drained, plus n updates by each of the 3 readers.
    assertThat(stats.delivered()).isEqualTo(4 + 3L * n);
    assertThat(stats.dropped()).isPositive().isLessThan(n);
    assertThat(stats.subscribers()).containsEntry("t", 3);
  }

  /**
   * The recovery the docs promise: a connection closed as a slow consumer comes back with its
   * resume point and gets exactly what it missed, although the replay is larger than {@code
   * maxQueuedBytes} (replayed history does not count against the limit; see {@code
   * Session.offerReplay}).
   */
  @Test
  void slowConsumerClosed_canResumeFromHistory_withoutGap() {
    hub(2_000);
    FakeConnection stalled = stalledSubscriber("t");
    hub.publish("t", 1);
    stalled.resume();
    Envelope first = stalled.next();
    stalled.stall();
    for (int i = 2; i <= 200; i++) {
      if (i == 100) {
        time.advance(STALL);
      }
      hub.publish("t", i);
    }
    assertThat(stalled.awaitClose().code()).isEqualTo(CloseReason.SLOW_CONSUMER);

    FakeConnection back = FakeConnection.connect(hub);
    back.send(ClientMessages.subscribe("t", first.id(), first.epoch()));
    assertThat(back.next().type()).isEqualTo("subscribed");
    for (int i = 2; i <= 200; i++) {
      Envelope e = back.next();
      assertThat(e.type()).isEqualTo("update");
      assertThat(e.id()).isEqualTo(i);
    }
    back.assertExhausted();
    assertThat(back.closeReason()).isNull();
  }

  @Test
  void resumeWhoseReplayPassesTheQueueLimit_isAccepted_andLiveMessagesStillHaveTheLimit() {
    hub(2_000);
    for (int i = 1; i <= 200; i++) {
      hub.publish("t", i);
    }
    String epoch = hub.topic("t").orElseThrow().epoch();
    FakeConnection back = FakeConnection.connect(hub);
    back.stall();
    back.send(ClientMessages.subscribe("t", 0, epoch));
    assertThat(back.session().isClosed()).isFalse();
    assertThat(back.session().queuedBytes()).isGreaterThan(2_000);
    time.advance(STALL); // it reads nothing: past the limit it is closed, not lagging

    // Live messages behind the replay are held to the limit on their own.
    hub.publish("t", 201);
    assertThat(back.session().isClosed()).isFalse();
    int live = 1;
    while (!back.session().isClosed() && live < 1_000) {
      hub.publish("t", 201 + live++);
    }
    assertThat(back.awaitClose().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(live).isBetween(10, 100);
  }

  @Test
  void stalledConnectionOnLatestTopic_holdsOneMessage_getsNewestOnResume_andIsNotClosed() {
    hub(LIMIT);
    FakeConnection reader = subscriber("state");
    FakeConnection stalled = stalledSubscriber("state");
    int windows = 100;

    hub.publish("state", string(100)); // first after quiet: emitted at once
    for (int w = 1; w <= windows; w++) {
      time.advance(Duration.ofMillis(10));
      hub.publish("state", RawJson.of("{\"w\":" + w + ",\"v\":\"a\"}"));
      time.advance(Duration.ofMillis(10));
      hub.publish("state", RawJson.of("{\"w\":" + w + ",\"v\":\"b\"}"));
      time.advance(Duration.ofMillis(10));
      hub.publish(
          "state",
          RawJson.of("{\"w\":" + w + ",\"v\":\"c\"," + "\"pad\":\"" + "p".repeat(80) + "\"}"));
      time.advance(Duration.ofMillis(70)); // the end of the window: "c" is emitted
      assertThat(stalled.session().queuedMessages()).isEqualTo(1);
      assertThat(stalled.session().queuedBytes()).isLessThanOrEqualTo(LIMIT);
    }

    assertThat(stalled.session().isClosed()).isFalse();
    assertThat(stalled.closeReason()).isNull();
    List<Envelope> all = reader.takeAll();
    assertThat(all).hasSize(1 + windows);
    Envelope newest = all.get(all.size() - 1);
    assertThat(newest.data().path("w").asInt()).isEqualTo(windows);
    assertThat(newest.data().path("v").asText()).isEqualTo("c");

    stalled.resume();
    Envelope got = stalled.next();
    assertThat(got.id()).isEqualTo(newest.id());
    assertThat(got.data()).isEqualTo(newest.data());
    stalled.assertExhausted();

    HubStats stats = hub.stats();
    assertThat(stats.published()).isEqualTo(1 + 3L * windows);
    assertThat(stats.emitted()).isEqualTo(1 + windows);
    // Two values replaced per window in the topic, and every emit after the first replaced the
    // stalled connection's queued value.
    assertThat(stats.conflated()).isEqualTo(2L * windows + windows);
    assertThat(stats.slowConsumersClosed()).isZero();
    assertThat(stats.dropped()).isZero();
    assertThat(stats.delivered()).isEqualTo(2 + (1 + windows) + 1);
  }

  @Test
  void stalledConnectionOnBothKinds_isClosedByTheNoneTopic_notByTheLatestOne() {
    hub(LIMIT);
    FakeConnection stalled = stalledSubscriber("state", "t");

    for (int i = 0; i < 50; i++) {
      hub.publish("state", string(200));
      time.advance(WINDOW);
    }
    assertThat(stalled.session().isClosed()).isFalse();
    assertThat(stalled.session().queuedMessages()).isEqualTo(1);

    for (int i = 0; i < 50 && !stalled.session().isClosed(); i++) {
      hub.publish("t", string(200));
    }
    assertThat(stalled.awaitClose().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(hub.stats().slowConsumersClosed()).isEqualTo(1);
  }

  @Test
  void stalledConnectionOnBatchTopic_isClosedAsSlowConsumer_batchesAreNotConflated() {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .limits(Limits.builder().maxQueuedBytes(LIMIT).build())
            .topic("logs", TopicOptions.of(Throttle.batch(WINDOW, 10)))
            .build();
    FakeConnection reader = subscriber("logs");
    FakeConnection stalled = stalledSubscriber("logs");

    for (int i = 0; i < 200 && !stalled.session().isClosed(); i++) {
      hub.publish("logs", i);
      time.advance(WINDOW);
    }

    assertThat(stalled.awaitClose().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(reader.session().isClosed()).isFalse();
    assertThat(hub.stats().conflated()).isZero();
  }
}
