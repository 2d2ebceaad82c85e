package io.watchcast;

import static io.watchcast.ClientMessages.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Resume: {@code since} + {@code epoch} within history replays exactly the missing messages and
 * goes live with no gap and no duplicate; anything else gets {@code reset} and the snapshot.
 */
final class ResumeTest {
  private static final int HISTORY = 5;
  private static final Duration AGE = Duration.ofSeconds(10);

  private final ManualScheduler time = new ManualScheduler();
  private ConnectionManager hub;
  private ExecutorService executor;

  private ConnectionManager hub() {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .defaultTopicOptions(TopicOptions.defaults().withHistory(HISTORY, AGE))
            .build();
    return hub;
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (hub != null) {
      hub.close();
    }
    if (executor != null) {
      executor.shutdownNow();
      assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  /** Publishes {@code count} updates on "t" whose data is their number, from 1. */
  private void publish(int from, int to) {
    for (int i = from; i <= to; i++) {
      assertThat(hub.publish("t", i)).isTrue();
    }
  }

  private String epoch() {
    return hub.topic("t").orElseThrow().epoch();
  }

  private static void assertSubscribed(Envelope e, String epoch, long lastId) {
    assertThat(e.type()).isEqualTo("subscribed");
    assertThat(e.topic()).isEqualTo("t");
    assertThat(e.data().path("epoch").asText()).isEqualTo(epoch);
    assertThat(e.data().path("id").asLong()).isEqualTo(lastId);
  }

  private static void assertReset(Envelope e, String epoch, long lastId, String reason) {
    assertThat(e.type()).isEqualTo("reset");
    assertThat(e.topic()).isEqualTo("t");
    assertThat(e.id()).isZero();
    assertThat(e.data().path("epoch").asText()).isEqualTo(epoch);
    assertThat(e.data().path("id").asLong()).isEqualTo(lastId);
    assertThat(e.data().path("reason").asText()).isEqualTo(reason);
  }

  private static void assertSnapshot(Envelope e, long id) {
    assertThat(e.type()).isEqualTo("snapshot");
    assertThat(e.id()).isEqualTo(id);
    assertThat(e.data().asLong()).isEqualTo(id);
  }

  // ---------------------------------------------------------------------------------------------
  // Within history

  @Test
  void sinceInHistory_replaysExactlyTheMissingMessages_asFirstSent_thenGoesLive() {
    hub();
    FakeConnection reference = FakeConnection.connect(hub);
    reference.send(subscribe("t"));
    reference.next();
    publish(1, 5);
    List<EncodedMessage> firstSent = reference.takeAllRaw();

    FakeConnection c = FakeConnection.connect(hub);
    c.send(ClientMessages.subscribe("t", 2, epoch()));

    assertSubscribed(c.next(), epoch(), 5);
    List<EncodedMessage> replay = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      replay.add(c.nextRaw(Duration.ofSeconds(5)));
    }
    c.assertExhausted();
    // The same messages: same ids, type, timestamp and bytes.
    assertThat(replay).containsExactlyElementsOf(firstSent.subList(2, 5));
    publish(6, 6);
    Envelope live = c.next();
    assertThat(live.id()).isEqualTo(6);
    assertThat(live.type()).isEqualTo("update");
    c.assertExhausted();
  }

  @Test
  void sinceEqualToLastId_replaysNothing_andSendsNoSnapshot() {
    hub();
    publish(1, 3);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.subscribe("t", 3, epoch()));

    assertSubscribed(c.next(), epoch(), 3);
    c.assertExhausted();
    publish(4, 4);
    assertThat(c.next().id()).isEqualTo(4);
  }

  @Test
  void sinceZero_withTheEpoch_replaysTheWholeStream_whileItIsInHistory() {
    hub();
    publish(1, HISTORY);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.subscribe("t", 0, epoch()));

    assertSubscribed(c.next(), epoch(), HISTORY);
    for (int i = 1; i <= HISTORY; i++) {
      assertThat(c.next().id()).isEqualTo(i);
    }
    c.assertExhausted();
  }

  @Test
  void resume_throughTheSessionApi_behavesLikeTheClientAction() {
    hub();
    publish(1, 4);
    FakeConnection c = FakeConnection.connect(hub);

    c.session().subscribe("t", 2, epoch());

    assertSubscribed(c.next(), epoch(), 4);
    assertThat(c.next().id()).isEqualTo(3);
    assertThat(c.next().id()).isEqualTo(4);
    c.assertExhausted();
  }

  // ---------------------------------------------------------------------------------------------
  // Outside history: reset, then snapshot

  @Test
  void sinceJustInsideTheCountBound_replays_andOneOlder_isResetWithHistoryGap() {
    hub();
    publish(1, 20); // history holds 16..20

    FakeConnection inside = FakeConnection.connect(hub);
    inside.send(ClientMessages.subscribe("t", 20 - HISTORY, epoch()));
    assertSubscribed(inside.next(), epoch(), 20);
    for (int i = 16; i <= 20; i++) {
      assertThat(inside.next().id()).isEqualTo(i);
    }
    inside.assertExhausted();

    FakeConnection outside = FakeConnection.connect(hub);
    outside.send(ClientMessages.subscribe("t", 20 - HISTORY - 1, epoch()));
    assertSubscribed(outside.next(), epoch(), 20);
    assertReset(outside.next(), epoch(), 20, "history_gap");
    assertSnapshot(outside.next(), 20);
    outside.assertExhausted();

    publish(21, 21);
    assertThat(outside.next().id()).isEqualTo(21);
    assertThat(inside.next().id()).isEqualTo(21);
  }

  @Test
  void sinceAtTheAgeBound_replays_andOneNanosecondOlder_isResetWithHistoryGap() {
    hub();
    publish(1, 1);
    time.advance(Duration.ofSeconds(5));
    publish(2, 2);
    time.advance(Duration.ofSeconds(5)); // message 1 is exactly AGE old: still kept

    FakeConnection atBound = FakeConnection.connect(hub);
    atBound.send(ClientMessages.subscribe("t", 0, epoch()));
    assertSubscribed(atBound.next(), epoch(), 2);
    assertThat(atBound.next().id()).isEqualTo(1);
    assertThat(atBound.next().id()).isEqualTo(2);
    atBound.assertExhausted();

    time.advance(Duration.ofNanos(1)); // message 1 is now older than AGE
    FakeConnection past = FakeConnection.connect(hub);
    past.send(ClientMessages.subscribe("t", 0, epoch()));
    assertSubscribed(past.next(), epoch(), 2);
    assertReset(past.next(), epoch(), 2, "history_gap");
    assertSnapshot(past.next(), 2);
    past.assertExhausted();

    // Message 2 is still young enough for a client that has message 1.
    FakeConnection hasOne = FakeConnection.connect(hub);
    hasOne.send(ClientMessages.subscribe("t", 1, epoch()));
    assertSubscribed(hasOne.next(), epoch(), 2);
    assertThat(hasOne.next().id()).isEqualTo(2);
    hasOne.assertExhausted();

    // Once everything aged out, only a client that is up to date avoids a reset.
    time.advance(AGE);
    FakeConnection upToDate = FakeConnection.connect(hub);
    upToDate.send(ClientMessages.subscribe("t", 2, epoch()));
    assertSubscribed(upToDate.next(), epoch(), 2);
    upToDate.assertExhausted();
    FakeConnection behind = FakeConnection.connect(hub);
    behind.send(ClientMessages.subscribe("t", 1, epoch()));
    assertSubscribed(behind.next(), epoch(), 2);
    assertReset(behind.next(), epoch(), 2, "history_gap");
    assertSnapshot(behind.next(), 2);
  }

  @Test
  void wrongEpoch_isResetWithEpochChanged_thenSnapshot_thenLive() {
    hub();
    publish(1, 3);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.subscribe("t", 2, "not-the-epoch"));

    assertSubscribed(c.next(), epoch(), 3);
    assertReset(c.next(), epoch(), 3, "epoch_changed");
    assertSnapshot(c.next(), 3);
    c.assertExhausted();
    publish(4, 4);
    assertThat(c.next().id()).isEqualTo(4);
  }

  @Test
  void sinceAheadOfLastId_isResetWithAhead() {
    hub();
    publish(1, 3);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.subscribe("t", 4, epoch()));

    assertSubscribed(c.next(), epoch(), 3);
    assertReset(c.next(), epoch(), 3, "ahead");
    assertSnapshot(c.next(), 3);
    c.assertExhausted();
  }

  @Test
  void sinceWithoutEpoch_isResetWithNoEpoch() {
    hub();
    publish(1, 3);
    FakeConnection c = FakeConnection.connect(hub);

    c.send("{\"action\":\"subscribe\",\"topic\":\"t\",\"since\":2}");

    assertSubscribed(c.next(), epoch(), 3);
    assertReset(c.next(), epoch(), 3, "no_epoch");
    assertSnapshot(c.next(), 3);
    c.assertExhausted();
  }

  @Test
  void epochWithoutSince_isAPlainSubscribe_withTheSnapshot() {
    hub();
    publish(1, 3);
    FakeConnection c = FakeConnection.connect(hub);

    c.send("{\"action\":\"subscribe\",\"topic\":\"t\",\"epoch\":\"" + epoch() + "\"}");

    assertSubscribed(c.next(), epoch(), 3);
    assertSnapshot(c.next(), 3);
    c.assertExhausted();
  }

  @Test
  void resetOnATopicThatNeverPublished_hasNoSnapshot() {
    hub();
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.subscribe("t", 7, "old"));

    Envelope subscribed = c.next();
    assertThat(subscribed.data().path("id").asLong()).isZero();
    assertReset(c.next(), subscribed.data().path("epoch").asText(), 0, "epoch_changed");
    c.assertExhausted();
  }

  @Test
  void resumeOnAnotherHub_isResetWithEpochChanged() {
    hub();
    publish(1, 3);
    String oldEpoch = epoch();
    hub.close();
    hub();
    publish(1, 3);
    assertThat(epoch()).isNotEqualTo(oldEpoch);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.subscribe("t", 3, oldEpoch));

    assertSubscribed(c.next(), epoch(), 3);
    assertReset(c.next(), epoch(), 3, "epoch_changed");
    assertSnapshot(c.next(), 3);
  }

  @Test
  void noHistory_meansEveryResumeBehindIsReset() {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .defaultTopicOptions(TopicOptions.defaults().withHistory(0, AGE))
            .build();
    publish(1, 3);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.subscribe("t", 2, epoch()));

    assertSubscribed(c.next(), epoch(), 3);
    assertReset(c.next(), epoch(), 3, "history_gap");
    assertSnapshot(c.next(), 3);
  }

  // ---------------------------------------------------------------------------------------------
  // While publishing continues on another thread

  /**
   * One client closes its session at random points and comes back with {@code since} + {@code
   * epoch} while another thread keeps publishing; the union of what all its sessions saw is exactly
   * 1..N, once each, in order. The publisher runs at most {@code IN_FLIGHT} messages ahead of the
   * client so that every resume happens while publishing continues (and history always holds the
   * resume point).
   */
  @ParameterizedTest(name = "drain on another thread: {0}")
  @ValueSource(booleans = {false, true})
  void resumeCycles_whilePublishingContinues_seeEveryIdExactlyOnceInOrder(boolean drainElsewhere)
      throws Exception {
    int n = 20_000;
    int inFlight = 1_000;
    hub =
        ConnectionManager.builder()
            .defaultTopicOptions(TopicOptions.defaults().withHistory(10 * inFlight, AGE))
            .build();
    executor = Executors.newFixedThreadPool(3);
    Semaphore credit = new Semaphore(inFlight);
    CountDownLatch start = new CountDownLatch(1);
    Future<?> publisher =
        executor.submit(
            () -> {
              start.await();
              for (int i = 1; i <= n; i++) {
                credit.acquire();
                if (!hub.publish("t", i)) {
                  throw new AssertionError("publish " + i + " refused");
                }
              }
              return null;
            });

    ThreadLocalRandom random = ThreadLocalRandom.current();
    List<Long> seen = new ArrayList<>(n);
    String epoch = null;
    long last = 0;
    int sessions = 0;
    int resets = 0;
    while (last < n) {
      FakeConnection c = new FakeConnection();
      if (drainElsewhere) {
        c.drainOn(executor);
      }
      c.attach(hub.register(c));
      sessions++;
      if (epoch == null) {
        c.send(subscribe("t"));
        start.countDown(); // the first session is in before the first publish
      } else {
        c.send(ClientMessages.subscribe("t", last, epoch));
      }
      Envelope subscribed = c.next(Duration.ofSeconds(30));
      assertThat(subscribed.type()).isEqualTo("subscribed");
      epoch = subscribed.data().path("epoch").asText();

      int take = last + 1 >= n ? Integer.MAX_VALUE : random.nextInt(1, 400);
      for (int k = 0; k < take && last < n; k++) {
        Envelope e = c.next(Duration.ofSeconds(30));
        if (e.type().equals("reset")) {
          resets++;
          break;
        }
        assertThat(e.type()).as("session %d after id %d", sessions, last).isEqualTo("update");
        assertThat(e.epoch()).isEqualTo(epoch);
        assertThat(e.id()).as("session %d: the id after %d", sessions, last).isEqualTo(last + 1);
        assertThat(e.data().asLong()).isEqualTo(e.id());
        seen.add(e.id());
        last = e.id();
        credit.release();
      }
      c.session().close();
      c.drain(); // waits for a drain in progress on another thread
      if (random.nextBoolean()) {
        // What arrived before the close and was not processed yet: take it too (the client
        // read it), or drop it (the client died first); both must resume exactly.
        for (Envelope e : c.takeAll()) {
          assertThat(e.type()).isEqualTo("update");
          assertThat(e.id()).as("session %d: the id after %d", sessions, last).isEqualTo(last + 1);
          seen.add(e.id());
          last = e.id();
          credit.release();
        }
      }
    }
    publisher.get(30, TimeUnit.SECONDS);

    assertThat(resets).isZero();
    assertThat(sessions).isGreaterThan(20);
    assertThat(seen).hasSize(n);
    for (int i = 0; i < n; i++) {
      assertThat(seen.get(i)).isEqualTo(i + 1);
    }
    assertThat(hub.stats().connections()).isZero();
    assertThat(hub.topic("t").orElseThrow().subscribers()).isZero();
  }
}
