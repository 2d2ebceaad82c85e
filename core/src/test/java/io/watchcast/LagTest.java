package io.watchcast;

import static io.watchcast.ClientMessages.ping;
import static io.watchcast.ClientMessages.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A connection that passes its queue limit while it still reads lags instead of being closed: the
 * topic's live messages wait in the topic's history and the connection catches up from it as it
 * drains; one that falls off the history's tail gets {@code reset} and the snapshot; one that reads
 * nothing for the stall timeout is closed; and all connections together are held to the hub's
 * bound. Time is a {@link ManualScheduler}: a reader counts as stalled only when the test moves the
 * clock.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
final class LagTest {
  private static final int LIMIT = 1000;
  private static final Duration STALL = Limits.DEFAULT_STALL_TIMEOUT;
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int HUB_BOUND = 2000;

  private final ManualScheduler time = new ManualScheduler();
  private ConnectionManager hub;

  @AfterEach
  void closeHub() {
    if (hub != null) {
      hub.close();
    }
  }

  private ConnectionManager hub(Limits limits, String topic, TopicOptions options) {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .limits(limits)
            .topic(topic, options)
            .build();
    return hub;
  }

  private ConnectionManager hub(int historySize) {
    return hub(
        Limits.builder().maxQueuedBytes(LIMIT).build(),
        "t",
        TopicOptions.defaults().withHistory(historySize, Duration.ofMinutes(5)));
  }

  private FakeConnection subscriber(String... topics) {
    return ClientMessages.subscriber(hub, topics);
  }

  /** A reader of {@code t} that stopped reading and lags after ten messages of about 400 bytes. */
  private FakeConnection laggingReader() {
    FakeConnection reader = subscriber("t");
    reader.stall();
    for (int i = 1; i <= 10; i++) {
      hub.publish("t", string(300));
    }
    assertThat(hub.stats().laggingConnections()).isEqualTo(1);
    return reader;
  }

  private static RawJson string(int jsonLength) {
    return RawJson.of("\"" + "x".repeat(jsonLength - 2) + "\"");
  }

  /** Takes {@code count} updates and asserts their ids run from {@code first} on, by one. */
  private static void assertUpdates(FakeConnection c, long first, int count) {
    for (long id = first; id < first + count; id++) {
      Envelope e = c.next(WAIT);
      assertThat(e.type()).isEqualTo("update");
      assertThat(e.id()).isEqualTo(id);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lag and catch-up

  /**
   * The canary of issue 14: a burst of 1,000 x 10 KB at full speed, while 50 other connections stop
   * reading and are then reset, to a reader that drains on its own thread and starts only once the
   * burst is 3 MB past its 1 MiB queue. Each drain pass moves the clock by 100 ms, so the burst
   * takes many stall timeouts of clock time; the reader drains in every one of them.
   */
  @Test
  void burstTheHistoryHolds_toAReaderThatKeepsDraining_neverClosesIt_everyIdOnceInOrder()
      throws Exception {
    hub(
        Limits.defaults(),
        "burst",
        TopicOptions.defaults().withHistory(1000, Duration.ofMinutes(5)));
    try (GatedDrainer drainer = new GatedDrainer(() -> time.advance(Duration.ofMillis(100)))) {
      burstToAReaderThatKeepsDraining(drainer);
    }
  }

  private void burstToAReaderThatKeepsDraining(GatedDrainer drainer) {
    FakeConnection reader = new FakeConnection().drainOn(drainer);
    reader.attach(hub.register(reader));
    reader.send(subscribe("burst"));
    List<FakeConnection> others = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      FakeConnection other = subscriber("burst");
      other.stall();
      others.add(other);
    }
    String pad = "p".repeat(10_000);

    for (int i = 1; i <= 1000; i++) {
      assertThat(hub.publish("burst", RawJson.of("{\"i\":" + i + ",\"pad\":\"" + pad + "\"}")))
          .isTrue();
      if (i == 300) {
        assertThat(hub.stats().laggingConnections()).isEqualTo(51);
        assertThat(hub.stats().queuedBytes()).isLessThanOrEqualTo(51L * (1 << 20));
        others.forEach(o -> o.session().close()); // their sockets were reset
        assertThat(hub.stats().queuedBytes()).isLessThanOrEqualTo(1 << 20);
        drainer.open(); // the reader starts draining, 3 MB behind
      }
    }

    assertThat(reader.next(WAIT).type()).isEqualTo("subscribed");
    for (int i = 1; i <= 1000; i++) {
      Envelope e = reader.next(WAIT);
      assertThat(e.type()).isEqualTo("update");
      assertThat(e.id()).isEqualTo(i);
      assertThat(e.data().get("i").asInt()).isEqualTo(i);
    }
    reader.assertExhausted();
    assertThat(reader.closeReason()).isNull();
    HubStats stats = hub.stats();
    assertThat(stats.slowConsumersClosed()).isZero();
    assertThat(stats.lagged()).isGreaterThanOrEqualTo(51);
    assertThat(stats.caughtUp()).isGreaterThanOrEqualTo(1);
    assertThat(stats.overflowResets()).isZero();
    assertThat(stats.laggingConnections()).isZero();
    assertThat(stats.queuedBytes()).isZero();
    assertThat(stats.connections()).isEqualTo(1);
  }

  @Test
  void pastTheLimit_whileReading_lags_thenCatchesUpOnDrain_andTakesLiveMessagesAgain() {
    hub(1000);
    FakeConnection reader = subscriber("t");
    reader.stall();
    for (int i = 1; i <= 20; i++) {
      hub.publish("t", string(200));
    }

    assertThat(reader.session().isClosed()).isFalse();
    assertThat(reader.session().queuedBytes()).isLessThanOrEqualTo(LIMIT);
    HubStats lagging = hub.stats();
    assertThat(lagging.laggingConnections()).isEqualTo(1);
    assertThat(lagging.lagged()).isEqualTo(1);
    assertThat(lagging.queuedBytes()).isEqualTo(reader.session().queuedBytes());

    reader.resume();
    assertUpdates(reader, 1, 20);
    reader.assertExhausted();
    HubStats caughtUp = hub.stats();
    assertThat(caughtUp.laggingConnections()).isZero();
    assertThat(caughtUp.caughtUp()).isEqualTo(1);
    assertThat(caughtUp.queuedBytes()).isZero();
    assertThat(caughtUp.delivered()).isEqualTo(1 + 20);

    hub.publish("t", 21); // live again: straight into the queue, drained at once
    assertUpdates(reader, 21, 1);
    reader.assertExhausted();
    assertThat(hub.stats().lagged()).isEqualTo(1);
  }

  @Test
  void lagOnOneTopic_leavesTheOthersLive_andEachTopicKeepsItsOrder() {
    hub(
        Limits.builder().maxQueuedBytes(LIMIT).build(),
        "a",
        TopicOptions.defaults().withHistory(1000, Duration.ofMinutes(5)));
    FakeConnection reader = subscriber("a", "b");
    reader.stall();
    for (int i = 1; i <= 10; i++) {
      hub.publish("a", string(300)); // "a" lags from its 4th message on
    }
    assertThat(hub.stats().laggingConnections()).isEqualTo(1);
    hub.publish("b", 1); // small: fits in the queue, so it goes ahead of a's lagging messages

    reader.resume();
    List<Envelope> got = reader.takeAll();
    List<Long> a = new ArrayList<>();
    List<Long> b = new ArrayList<>();
    for (Envelope e : got) {
      (e.topic().equals("a") ? a : b).add(e.id());
    }
    assertThat(a).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
    assertThat(b).containsExactly(1L);
    int bAt = 0;
    while (!got.get(bAt).topic().equals("b")) {
      bAt++;
    }
    // Published after a's 10, delivered before some of a: topics interleave, each in order.
    assertThat(got.get(got.size() - 1).topic()).isEqualTo("a");
    assertThat(bAt).isLessThan(got.size() - 1);
  }

  @Test
  void unsubscribe_whileLagging_endsTheLag_andAResubscribeStartsFresh() {
    hub(1000);
    FakeConnection reader = laggingReader();

    reader.send(ClientMessages.unsubscribe("t"));
    assertThat(hub.stats().laggingConnections()).isZero();
    reader.resume();
    List<Envelope> got = reader.takeAll();
    assertThat(got.get(got.size() - 1).type()).isEqualTo("unsubscribed");
    reader.send(subscribe("t"));
    assertThat(reader.next().type()).isEqualTo("subscribed");
    assertThat(reader.next().type()).isEqualTo("snapshot");
    hub.publish("t", 11);
    assertThat(reader.next().id()).isEqualTo(11); // live, not skipped as lagging
    reader.assertExhausted();
  }

  /** Fills a stalled reader's queue to exactly {@code LIMIT} with {@code t}'s ids 1 and 2. */
  private FakeConnection queueExactlyToTheLimit() {
    FakeConnection reader = subscriber("t");
    reader.stall();
    hub.publish("t", string(12));
    long first = reader.session().queuedBytes();
    long overhead = first - 12; // the same for id 2: same timestamp, one digit
    hub.publish("t", string((int) (LIMIT - first - overhead)));
    assertThat(reader.session().queuedBytes()).isEqualTo(LIMIT);
    return reader;
  }

  @Test
  void pingWhileLagging_isAnsweredWithinTheReserve_notAClose() {
    hub(1000);
    FakeConnection reader = queueExactlyToTheLimit();
    for (int i = 3; i <= 10; i++) {
      hub.publish("t", string(300));
    }
    assertThat(hub.stats().laggingConnections()).isEqualTo(1);
    reader.send(ping());
    reader.send(ping());

    assertThat(reader.session().isClosed()).isFalse();
    assertThat(reader.session().queuedBytes()).isGreaterThan(LIMIT);
    reader.resume();
    List<Envelope> got = reader.takeAll();
    assertThat(got.stream().filter(e -> e.type().equals("pong"))).hasSize(2);
    assertThat(got.stream().filter(e -> e.type().equals("update")).map(Envelope::id))
        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
  }

  @Test
  void repliesPastTheReserve_closeTheConnection() {
    hub(1000);
    FakeConnection reader = queueExactlyToTheLimit();
    int pings = 0;
    while (!reader.session().isClosed() && pings < 100) {
      assertThat(reader.session().queuedBytes()).isLessThanOrEqualTo(2 * LIMIT);
      reader.send(ping());
      pings++;
    }
    assertThat(reader.closeReason().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(pings).isGreaterThan(1).isLessThan(100);
  }

  @Test
  void batchTopic_lagsLikeANoneTopic_itsBatchesCatchUpWhole() {
    Duration window = Duration.ofMillis(100);
    hub(
        Limits.builder().maxQueuedBytes(LIMIT).build(),
        "logs",
        TopicOptions.of(Throttle.batch(window, 3)));
    FakeConnection reader = subscriber("logs");
    reader.stall();
    for (int i = 0; i < 60; i++) {
      hub.publish("logs", RawJson.of("{\"n\":" + i + "}"));
      if (i % 3 == 2) {
        time.advance(Duration.ofMillis(10)); // within the stall timeout, every window full
      }
    }
    time.advance(window);
    assertThat(hub.stats().laggingConnections()).isEqualTo(1);

    reader.resume();
    int n = 0;
    long id = 0;
    for (Envelope e : reader.takeAll()) {
      assertThat(e.id()).isEqualTo(++id);
      for (com.fasterxml.jackson.databind.JsonNode item : e.data()) {
        assertThat(item.get("n").asInt()).isEqualTo(n++);
      }
    }
    assertThat(n).isEqualTo(60);
    assertThat(reader.session().isClosed()).isFalse();
    assertThat(hub.stats().conflated()).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Falling off the history

  @Test
  void lagPastTheHistorysTail_byCount_getsResetAndSnapshot_thenLiveMessages_noSilentGap() {
    hub(10);
    FakeConnection reader = subscriber("t");
    reader.stall();
    for (int i = 1; i <= 50; i++) {
      hub.publish("t", RawJson.of("{\"i\":" + i + ",\"pad\":\"" + "p".repeat(150) + "\"}"));
    }
    int queued = reader.session().queuedMessages();
    assertThat(queued).isBetween(1, 10);
    String epoch = hub.topic("t").orElseThrow().epoch();

    reader.resume();
    assertUpdates(reader, 1, queued);
    Envelope reset = reader.next();
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.topic()).isEqualTo("t");
    assertThat(reset.data().get("reason").asText()).isEqualTo("overflow");
    assertThat(reset.data().get("id").asLong()).isEqualTo(50);
    assertThat(reset.data().get("epoch").asText()).isEqualTo(epoch);
    Envelope snapshot = reader.next();
    assertThat(snapshot.type()).isEqualTo("snapshot");
    assertThat(snapshot.id()).isEqualTo(50);
    assertThat(snapshot.data().get("i").asInt()).isEqualTo(50);
    reader.assertExhausted();

    hub.publish("t", 51);
    assertUpdates(reader, 51, 1);
    reader.assertExhausted();
    HubStats stats = hub.stats();
    assertThat(stats.overflowResets()).isEqualTo(1);
    assertThat(stats.laggingConnections()).isZero();
    assertThat(stats.caughtUp()).isZero();
    assertThat(reader.session().isClosed()).isFalse();
  }

  @Test
  void lagPastTheHistorysTail_byAge_getsResetAndSnapshot() {
    hub(
        Limits.builder().maxQueuedBytes(LIMIT).build(),
        "t",
        TopicOptions.defaults().withHistory(1000, Duration.ofMillis(500)));
    FakeConnection reader = laggingReader();
    int queued = reader.session().queuedMessages();
    time.advance(Duration.ofSeconds(2)); // no message comes: the stall closes nobody

    reader.resume();
    assertUpdates(reader, 1, queued);
    Envelope reset = reader.next();
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.data().get("reason").asText()).isEqualTo("overflow");
    assertThat(reader.next().type()).isEqualTo("snapshot");
    reader.assertExhausted();
    assertThat(hub.stats().overflowResets()).isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Stalled readers

  @Test
  void stalledReader_overItsLimit_isClosedOnlyOnceItHasReadNothingForTheStallTimeout() {
    hub(1000);
    FakeConnection reader = laggingReader();

    time.advance(STALL.minusNanos(1));
    hub.publish("t", 11);
    assertThat(reader.session().isClosed()).isFalse();
    assertThat(reader.session().queuedBytes()).isLessThanOrEqualTo(LIMIT);

    time.advance(Duration.ofNanos(1));
    hub.publish("t", 12);
    CloseReason reason = reader.closeReason();
    assertThat(reason).isNotNull();
    assertThat(reason.code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(reason.message()).contains("nothing was read");
    HubStats stats = hub.stats();
    assertThat(stats.slowConsumersClosed()).isEqualTo(1);
    assertThat(stats.laggingConnections()).isZero();
    assertThat(stats.queuedBytes()).isZero();
    assertThat(stats.connections()).isZero();
  }

  @Test
  void readerThatDrainsNow_andThen_isNotStalled_butClosedOnceItStops() {
    hub(1000);
    FakeConnection reader = subscriber("t");
    reader.stall();
    long published = 0;
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < 10; i++) {
        hub.publish("t", string(300));
        published++;
      }
      time.advance(STALL.multipliedBy(9).dividedBy(10));
      hub.publish("t", string(300)); // 0.9 s after its last read: lagging, not closed
      published++;
      assertThat(reader.session().isClosed()).isFalse();
      reader.resume(); // reads everything, catch-up included
      reader.stall();
    }
    assertUpdates(reader, 1, (int) published);
    assertThat(hub.stats().lagged()).isEqualTo(5);

    for (int i = 0; i < 10; i++) {
      hub.publish("t", string(300));
    }
    time.advance(STALL);
    hub.publish("t", string(300));
    assertThat(reader.closeReason().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
  }

  @Test
  void topicWithoutHistory_cannotLag_passingTheLimitCloses() {
    hub(0);
    assertStalledReaderIsClosedAtTheLimitWithoutLag();
  }

  @Test
  void stallTimeoutZero_closesAtTheLimit_withoutLag() {
    hub(
        Limits.builder().maxQueuedBytes(LIMIT).stallTimeout(Duration.ZERO).build(),
        "t",
        TopicOptions.defaults());
    assertStalledReaderIsClosedAtTheLimitWithoutLag();
  }

  private void assertStalledReaderIsClosedAtTheLimitWithoutLag() {
    FakeConnection reader = subscriber("t");
    reader.stall();
    for (int i = 1; i <= 10 && !reader.session().isClosed(); i++) {
      hub.publish("t", string(300));
    }
    assertThat(reader.closeReason().code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(hub.stats().lagged()).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // The hub's bound

  /**
   * A hub bound of {@code HUB_BOUND} and two stalled connections, per-connection limits far away:
   * one holds a {@code filler} message, the other {@code topic}'s first; then {@code topic}'s
   * second makes the hub's queued bytes {@code HUB_BOUND + delta}. Sizes come from the stat itself.
   */
  private FakeConnection queueHubUpTo(int delta, String topic) {
    hubBound(HUB_BOUND);
    FakeConnection holder = subscriber("filler");
    holder.stall();
    FakeConnection reader = subscriber(topic);
    reader.stall();
    hub.publish("filler", string(400));
    long filler = hub.stats().queuedBytes();
    hub.publish(topic, string(12));
    long first = hub.stats().queuedBytes() - filler;
    long overhead = first - 12; // the same for the second: same timestamp, one-digit id
    long second = HUB_BOUND + delta - filler - first;
    hub.publish(topic, string((int) (second - overhead)));
    return reader;
  }

  private ConnectionManager hubBound(int bound) {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .limits(Limits.builder().maxQueuedBytes(1 << 20).maxHubQueuedBytes(bound).build())
            .topic("bare", TopicOptions.defaults().withHistory(0, Duration.ofMinutes(5)))
            .build();
    return hub;
  }

  @Test
  void hubBound_exactlyReached_isQueued_andTheStatSaysSo() {
    FakeConnection reader = queueHubUpTo(0, "t");

    HubStats stats = hub.stats();
    assertThat(stats.queuedBytes()).isEqualTo(HUB_BOUND);
    assertThat(stats.laggingConnections()).isZero();
    assertThat(reader.session().queuedMessages()).isEqualTo(2);
  }

  @Test
  void hubBound_passedByOneByte_lagsAReader_whichCatchesUpFromHistory() {
    FakeConnection reader = queueHubUpTo(1, "t");

    HubStats stats = hub.stats();
    assertThat(stats.laggingConnections()).isEqualTo(1);
    assertThat(stats.queuedBytes()).isLessThanOrEqualTo(HUB_BOUND);
    assertThat(reader.session().queuedMessages()).isEqualTo(1);
    assertThat(reader.session().isClosed()).isFalse();

    reader.resume();
    assertUpdates(reader, 1, 2);
    reader.assertExhausted();
    assertThat(hub.stats().caughtUp()).isEqualTo(1);
  }

  @Test
  void hubBound_passedByOneByte_onATopicWithoutHistory_closesAsSlowConsumer() {
    FakeConnection reader = queueHubUpTo(1, "bare");

    CloseReason reason = reader.closeReason();
    assertThat(reason).isNotNull();
    assertThat(reason.code()).isEqualTo(CloseReason.SLOW_CONSUMER);
    assertThat(reason.message()).contains(String.valueOf(HUB_BOUND));
    assertThat(hub.stats().queuedBytes()).isLessThanOrEqualTo(HUB_BOUND);
  }

  @Test
  void hubBound_countsAMessageOncePerConnection() {
    hubBound(1 << 20);
    FakeConnection a = subscriber("t");
    FakeConnection b = subscriber("t");
    a.stall();
    b.stall();
    hub.publish("t", string(500));
    long one = a.session().queuedBytes();
    assertThat(hub.stats().queuedBytes()).isEqualTo(2 * one);
    a.resume();
    assertThat(hub.stats().queuedBytes()).isEqualTo(one);
    b.session().close();
    assertThat(hub.stats().queuedBytes()).isZero();
  }
}
