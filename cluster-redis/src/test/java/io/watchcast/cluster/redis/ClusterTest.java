package io.watchcast.cluster.redis;

import static io.watchcast.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.Clock;
import io.watchcast.ClusterBus;
import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.TopicOptions;
import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.RequiresProgram;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two or three hubs in one JVM sharing topics through a real redis-server. Clients are core's
 * {@link FakeConnection}s; {@link WebSocketClusterTest} does the same over real WebSocket
 * transports. Tests that need no Redis are in {@link RedisClusterBusTest}.
 */
@RequiresProgram(
    value = "redis-server",
    paths = {"/usr/bin/redis-server", "/usr/local/bin/redis-server"},
    env = "REDIS_SERVER",
    install = "apt-get install redis-server")
final class ClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;
  private RedisServer redis;
  private final List<ConnectionManager> hubs = new ArrayList<>();

  @BeforeEach
  void startRedis() throws Exception {
    redis = RedisServer.start(dir);
  }

  @AfterEach
  void stopAll() throws Exception {
    for (ConnectionManager hub : hubs) {
      hub.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private RedisClusterBus bus() {
    return RedisClusterBus.builder(redis.uri())
        .maxReconnectDelay(Duration.ofMillis(200))
        .timeout(Duration.ofSeconds(1))
        .build();
  }

  private ConnectionManager node() {
    return node(bus());
  }

  private ConnectionManager node(RedisClusterBus bus) {
    ConnectionManager hub = ConnectionManager.builder().clusterBus(bus).build();
    hubs.add(hub);
    await(bus::isConnected, "bus connected");
    return hub;
  }

  private static FakeConnection subscribe(ConnectionManager hub, String topic) {
    FakeConnection c = FakeConnection.connect(hub);
    c.send("{\"action\":\"subscribe\",\"topic\":\"" + topic + "\"}");
    return c;
  }

  private static FakeConnection resume(
      ConnectionManager hub, String topic, long since, String epoch) {
    FakeConnection c = FakeConnection.connect(hub);
    c.send(
        "{\"action\":\"subscribe\",\"topic\":\""
            + topic
            + "\",\"since\":"
            + since
            + ",\"epoch\":\""
            + epoch
            + "\"}");
    return c;
  }

  /**
   * Reads a client's messages and checks the resume contract as a client would: every update is the
   * next id of the epoch it holds, the epoch or id only jumps through {@code subscribed}, {@code
   * reset} or {@code snapshot}, and a {@code reset} to a non-empty topic is followed by its
   * snapshot. Collects the data of updates and snapshots.
   */
  static final class Reader {
    final FakeConnection c;
    String epoch;
    long last = -1;
    final List<String> updates = new ArrayList<>();
    final List<Envelope> resets = new ArrayList<>();
    String lastData; // of the latest update or snapshot
    int updatesAtLastReset;
    Envelope pendingReset; // a reset whose snapshot has not arrived yet

    Reader(FakeConnection c) {
      this.c = c;
    }

    Envelope next() {
      Envelope e = c.next(WAIT);
      if (pendingReset != null) {
        assertThat(e.type()).as("what follows %s", pendingReset).isEqualTo("snapshot");
        assertThat(e.epoch()).isEqualTo(epoch);
        assertThat(e.id()).isEqualTo(last);
        pendingReset = null;
      }
      switch (e.type()) {
        case "subscribed", "reset" -> {
          if (e.data().has("epoch") && (epoch == null || e.type().equals("reset"))) {
            epoch = e.data().get("epoch").asText();
            last = e.data().get("id").asLong();
          }
          if (e.type().equals("reset")) {
            resets.add(e);
            updatesAtLastReset = updates.size();
            pendingReset = last > 0 ? e : null;
          }
        }
        case "snapshot" -> {
          epoch = e.epoch();
          last = e.id();
          lastData = e.data().asText();
        }
        case "update" -> {
          if (last == 0) {
            epoch =
                e.epoch(); // subscribed at id 0: no resume point yet, the epoch is the cluster's
          }
          assertThat(e.epoch()).as("epoch of update %s", e).isEqualTo(epoch);
          assertThat(e.id()).as("id of update after %s", last).isEqualTo(last + 1);
          last = e.id();
          updates.add(e.data().asText());
          lastData = e.data().asText();
        }
        default -> throw new AssertionError("unexpected " + e);
      }
      return e;
    }

    /** Reads until an update or a snapshot carries {@code data}. */
    void until(String data) {
      while (!data.equals(lastData)) {
        next();
      }
    }

    void updates(int count) {
      while (updates.size() < count) {
        next();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void publish_onNodeA_reachesClientsOnBothNodes() {
    ConnectionManager a = node();
    ConnectionManager b = node();
    Reader onB = new Reader(subscribe(b, "stats"));
    Reader onA = new Reader(subscribe(a, "stats"));
    assertThat(onB.next().type()).isEqualTo("subscribed");
    assertThat(onA.next().type()).isEqualTo("subscribed");

    assertThat(a.publish("stats", "hello")).isTrue();

    Envelope e = onB.next();
    assertThat(e.type()).isEqualTo("update");
    assertThat(e.id()).isEqualTo(1);
    assertThat(e.data().asText()).isEqualTo("hello");
    Envelope same = onA.next();
    assertThat(same.epoch()).isEqualTo(e.epoch());
    assertThat(same.id()).isEqualTo(1);
    // The snapshot is shared too.
    await(() -> b.snapshot("stats").isPresent(), "snapshot on B");
    assertThat(b.snapshot("stats").orElseThrow().jsonString()).contains("\"hello\"");
    assertThat(a.topic("stats").orElseThrow().epoch())
        .isEqualTo(b.topic("stats").orElseThrow().epoch());
  }

  @Test
  void concurrentPublishers_onBothNodes_sameOrderForEveryClient() throws Exception {
    ConnectionManager a = node();
    ConnectionManager b = node();
    List<Reader> readers = new ArrayList<>();
    for (ConnectionManager hub : List.of(a, b, a, b)) {
      Reader r = new Reader(subscribe(hub, "logs"));
      r.next(); // subscribed
      readers.add(r);
    }
    int perThread = 150;
    CountDownLatch go = new CountDownLatch(1);
    AtomicInteger failed = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    String[] names = {"a1", "a2", "b1", "b2"};
    for (int t = 0; t < 4; t++) {
      ConnectionManager hub = t < 2 ? a : b;
      String name = names[t];
      Thread thread =
          new Thread(
              () -> {
                try {
                  go.await();
                } catch (InterruptedException e) {
                  return;
                }
                for (int i = 0; i < perThread; i++) {
                  if (!hub.publish("logs", name + "-" + i)) {
                    failed.incrementAndGet();
                  }
                }
              });
      thread.start();
      threads.add(thread);
    }
    go.countDown();
    for (Thread t : threads) {
      t.join(60_000);
    }
    assertThat(failed).hasValue(0);

    for (Reader r : readers) {
      r.updates(4 * perThread);
    }
    List<String> first = readers.get(0).updates;
    assertThat(first).hasSize(4 * perThread).doesNotHaveDuplicates();
    for (Reader r : readers) {
      assertThat(r.updates).isEqualTo(first);
      assertThat(r.last).isEqualTo(4L * perThread);
      r.c.assertExhausted();
    }
    // Each publisher's own messages keep their order.
    for (String name : names) {
      List<String> mine = first.stream().filter(s -> s.startsWith(name + "-")).toList();
      for (int i = 0; i < perThread; i++) {
        assertThat(mine.get(i)).isEqualTo(name + "-" + i);
      }
    }
  }

  @Test
  void client_movesFromNodeAToNodeB_getsEveryMessageExactlyOnce() throws Exception {
    ConnectionManager a = node();
    ConnectionManager b = node();
    Reader onA = new Reader(subscribe(a, "feed"));
    onA.next();
    int total = 400;
    AtomicBoolean ok = new AtomicBoolean(true);
    Thread publisher =
        new Thread(
            () -> {
              for (int i = 0; i < total; i++) {
                ok.compareAndSet(true, b.publish("feed", "m" + i));
              }
            });
    publisher.start();
    onA.updates(100);
    // Node A goes away while its client streams; the client comes back on B with its resume point.
    a.close();
    Reader onB = new Reader(resume(b, "feed", onA.last, onA.epoch));
    onB.epoch = onA.epoch;
    onB.last = onA.last;
    // Anything A delivered after the resume point was taken is dropped from onA's count: the
    // client resumes from what it had read (onA.last).
    onB.until("m" + (total - 1));
    publisher.join(30_000);
    assertThat(ok).isTrue();

    List<String> all = new ArrayList<>(onA.updates);
    all.addAll(onB.updates);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      expected.add("m" + i);
    }
    assertThat(all).isEqualTo(expected);
    assertThat(onB.resets).isEmpty();
  }

  @Test
  void nodeStartedLater_resumesAndSnapshotsFromTheSharedHistory() {
    ConnectionManager a = node();
    for (int i = 1; i <= 10; i++) {
      assertThat(a.publish("news", "n" + i)).isTrue();
    }
    Reader onA = new Reader(subscribe(a, "news"));
    onA.next(); // subscribed
    onA.next(); // snapshot
    await(() -> onA.last == 10 || onA.c.receivedCount() > 0 && onA.next() != null, "A at 10");
    String epoch = onA.epoch;

    ConnectionManager c = node();
    Reader late = new Reader(resume(c, "news", 6, epoch));
    assertThat(late.next().type()).isEqualTo("subscribed");
    late.epoch = epoch;
    late.last = 6;
    late.updates(4);
    assertThat(late.updates).containsExactly("n7", "n8", "n9", "n10");
    assertThat(late.resets).isEmpty();
    assertThat(c.snapshot("news").orElseThrow().jsonString()).contains("\"n10\"");
  }

  @Test
  void history_trimmedPastTheResumePoint_givesReset() {
    ConnectionManager a =
        node(bus()); // the topic is declared with a small history on both nodes below
    a.declareTopic("small", TopicOptions.defaults().withHistory(5, Duration.ofMinutes(5)));
    for (int i = 1; i <= 300; i++) {
      assertThat(a.publish("small", "s" + i)).isTrue();
    }
    await(() -> a.topic("small").orElseThrow().id() == 300, "A at 300");
    String epoch = a.topic("small").orElseThrow().epoch();
    ConnectionManager b = node();
    b.declareTopic("small", TopicOptions.defaults().withHistory(5, Duration.ofMinutes(5)));
    Reader late = new Reader(resume(b, "small", 2, epoch));
    assertThat(late.next().type()).isEqualTo("subscribed");
    Envelope reset = late.next();
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.data().get("reason").asText()).isEqualTo("history_gap");
    Envelope snap = late.next();
    assertThat(snap.type()).isEqualTo("snapshot");
    assertThat(snap.id()).isEqualTo(300);
  }

  @Test
  void redisRestarted_duringAStream_failsLoudlyThenResetsNeverASilentGap() throws Exception {
    ConnectionManager a = node();
    ConnectionManager b = node();
    Reader onA = new Reader(subscribe(a, "live"));
    Reader onB = new Reader(subscribe(b, "live"));
    onA.next();
    onB.next();
    for (int i = 0; i < 20; i++) {
      assertThat((i % 2 == 0 ? a : b).publish("live", "before" + i)).isTrue();
    }
    onA.until("before19");
    onB.until("before19");
    String oldEpoch = onA.epoch;
    long oldLast = onA.last;

    redis.stop();
    long failuresBefore = a.stats().publishFailures();
    assertThat(a.publish("live", "while-down")).isFalse();
    assertThat(b.publish("live", "while-down")).isFalse();
    assertThat(a.stats().publishFailures()).isGreaterThan(failuresBefore);

    redis.start();
    await(() -> a.publish("live", "after0"), "a publish on A succeeds again");
    for (int i = 1; i < 20; i++) {
      assertThat((i % 2 == 0 ? a : b).publish("live", "after" + i)).isTrue();
    }
    // Live clients were told: reset (a new epoch), then the stream continues with no gap.
    for (Reader r : List.of(onA, onB)) {
      r.until("after19");
      assertThat(r.resets).hasSize(1);
      assertThat(r.resets.get(0).data().get("reason").asText()).isEqualTo("epoch_changed");
      assertThat(r.epoch).isNotEqualTo(oldEpoch);
      assertThat(r.updates).doesNotContain("while-down");
    }
    // A client that comes back with its resume point from before the restart gets reset.
    Reader returning = new Reader(resume(b, "live", oldLast, oldEpoch));
    returning.next(); // subscribed
    Envelope reset = returning.next();
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.data().get("epoch").asText()).isEqualTo(onA.epoch);
    // One that resumes within the new epoch gets exactly what it missed.
    Reader recent = new Reader(resume(a, "live", onA.last - 3, onA.epoch));
    recent.next();
    recent.epoch = onA.epoch;
    recent.last = onA.last - 3;
    recent.updates(3);
    assertThat(recent.updates).containsExactly("after17", "after18", "after19");
  }

  /**
   * Issue 14's outage, in the project: Redis killed for 5 s under 100 publishes per second on each
   * of two nodes (two topics, a client per topic on each node), then started again (empty, as after
   * a crash without persistence).
   */
  @Test
  void redisDown5s_underASteadyStreamOnBothNodes_noSilentGapAndPublishingResumesByItself()
      throws Exception {
    // Default settings (2 s timeouts, reconnect backoff up to 2 s), as an application runs it.
    ConnectionManager a = node(RedisClusterBus.create(redis.uri()));
    ConnectionManager b = node(RedisClusterBus.create(redis.uri()));
    List<String> topics = List.of("s0", "s1");
    Map<String, List<Reader>> readers = new LinkedHashMap<>();
    for (String topic : topics) {
      for (ConnectionManager hub : List.of(a, b)) {
        Reader r = new Reader(subscribe(hub, topic));
        assertThat(r.next().type()).isEqualTo("subscribed");
        r.c.clock(Clock.system()); // arrival times, for the report below
        readers.computeIfAbsent(topic, t -> new ArrayList<>()).add(r);
      }
    }
    SteadyPublisher pa = new SteadyPublisher(a, "a", topics);
    SteadyPublisher pb = new SteadyPublisher(b, "b", topics);
    List<SteadyPublisher> publishers = List.of(pa, pb);
    ScheduledExecutorService ticks = Executors.newScheduledThreadPool(2);
    long upAt;
    try {
      for (SteadyPublisher p : publishers) {
        ticks.scheduleAtFixedRate(p::tick, 0, 10, TimeUnit.MILLISECONDS); // 100 msg/s per node
      }
      await(() -> pa.acked.size() >= 50 && pb.acked.size() >= 50, "a steady stream before");

      redis.stop(); // SIGKILL, and the process is gone when stop() returns
      long downAt = System.nanoTime();
      for (SteadyPublisher p : publishers) {
        p.failuresAtDown = p.failures.get();
        p.down = true;
      }
      await(
          () ->
              System.nanoTime() - downAt >= TimeUnit.SECONDS.toNanos(5)
                  && !pa.refusedWhileDown.isEmpty()
                  && !pb.refusedWhileDown.isEmpty(),
          "5 s of outage, with refused publishes on both nodes",
          Duration.ofSeconds(30));
      publishers.forEach(p -> p.down = false);
      redis.start(); // returns once it accepts connections
      upAt = System.nanoTime();
      publishers.forEach(p -> p.upAt = upAt);
      await(
          () -> pa.firstAckAfterUp != 0 && pb.firstAckAfterUp != 0,
          "publishing resumes by itself on both nodes",
          Duration.ofSeconds(30));
      await(
          () -> pa.ackedAfterUp.get() >= 100 && pb.ackedAfterUp.get() >= 100,
          "a steady stream after",
          Duration.ofSeconds(30));
      System.out.printf(
          "Redis down %d ms under 100 msg/s per node: %d and %d publishes failed; first publish"
              + " taken again %.1f ms (A) and %.1f ms (B) after Redis accepted connections%n",
          TimeUnit.NANOSECONDS.toMillis(upAt - downAt),
          pa.failedInOutage,
          pb.failedInOutage,
          (pa.firstAckAfterUp - upAt) / 1e6,
          (pb.firstAckAfterUp - upAt) / 1e6);
    } finally {
      ticks.shutdownNow();
      assertThat(ticks.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(a.stats().publishFailures()).isEqualTo(pa.failures.get());
    assertThat(b.stats().publishFailures()).isEqualTo(pb.failures.get());

    List<Long> resetAfterUp = new ArrayList<>();
    for (String topic : topics) {
      await(() -> a.publish(topic, "end"), "a last message on " + topic);
      for (Reader r : readers.get(topic)) {
        r.until("end"); // Reader checks every step: consecutive ids, reset then snapshot
        assertThat(r.c.closeReason()).as("clients stay connected").isNull();
        assertThat(r.resets).as("reset for the new epoch").isNotEmpty();
        assertThat(r.resets.get(0).data().get("reason").asText()).isEqualTo("epoch_changed");
        r.c.arrivals().stream()
            .filter(arrival -> arrival.envelope().type().equals("reset"))
            .findFirst()
            .ifPresent(arrival -> resetAfterUp.add(arrival.nanos() - upAt));
        for (SteadyPublisher p : publishers) {
          assertThat(r.updates).doesNotContainAnyElementsOf(p.refusedWhileDown);
          p.assertEveryTakenMessageAfter(r, topics.indexOf(topic), topics.size());
        }
      }
      Reader first = readers.get(topic).get(0);
      for (Reader r : readers.get(topic)) {
        assertThat(r.epoch + ":" + r.last)
            .as("one order")
            .isEqualTo(first.epoch + ":" + first.last);
      }
    }
    System.out.printf(
        "Every subscription got reset + snapshot %.1f to %.1f ms after Redis accepted"
            + " connections%n",
        Collections.min(resetAfterUp) / 1e6, Collections.max(resetAfterUp) / 1e6);
  }

  /**
   * Publishes {@code <tag><n>} for n = 0, 1, ... on the topics in turn, one message per {@link
   * #tick}, and records what the cluster took and what it refused while Redis was down.
   */
  private static final class SteadyPublisher {
    final ConnectionManager hub;
    final String tag;
    final List<String> topics;
    final Set<String> acked = ConcurrentHashMap.newKeySet();

    /** Refused by a publish that began and ended while Redis was dead: never taken. */
    final Set<String> refusedWhileDown = ConcurrentHashMap.newKeySet();

    final AtomicInteger failures = new AtomicInteger();
    final AtomicInteger ackedAfterUp = new AtomicInteger();
    volatile boolean down;
    volatile long upAt; // System.nanoTime() when Redis was back, or 0
    volatile long firstAckAfterUp; // System.nanoTime() of the first publish taken after, or 0
    volatile int failuresAtDown;
    volatile int failedInOutage; // from Redis's death to the first publish taken again
    private int n; // the tick thread's

    SteadyPublisher(ConnectionManager hub, String tag, List<String> topics) {
      this.hub = hub;
      this.tag = tag;
      this.topics = topics;
    }

    void tick() {
      String data = tag + n;
      String topic = topics.get(n % topics.size());
      n++;
      boolean downBefore = down;
      if (hub.publish(topic, data)) {
        acked.add(data);
        if (upAt != 0 && ackedAfterUp.getAndIncrement() == 0) {
          firstAckAfterUp = System.nanoTime();
          failedInOutage = failures.get() - failuresAtDown;
        }
      } else {
        failures.incrementAndGet();
        if (downBefore && down) {
          refusedWhileDown.add(data);
        }
      }
    }

    /**
     * After the client's last reset, it received every message of this publisher on the topic that
     * the cluster took, in order, once (a publish that failed otherwise, say by a timeout, may or
     * may not have been taken).
     */
    void assertEveryTakenMessageAfter(Reader r, int topicIndex, int topicCount) {
      List<Integer> mine = new ArrayList<>();
      for (String d : r.updates.subList(r.updatesAtLastReset, r.updates.size())) {
        if (d.startsWith(tag)) {
          mine.add(Integer.parseInt(d.substring(tag.length())));
        }
      }
      if (mine.isEmpty()) {
        return;
      }
      assertThat(mine).as("%s's messages in order, once", tag).isSorted().doesNotHaveDuplicates();
      for (String d : acked) {
        int i = Integer.parseInt(d.substring(tag.length()));
        if (i % topicCount == topicIndex && i >= mine.get(0)) {
          assertThat(mine).as("taken, so delivered: %s", d).contains(i);
        }
      }
    }
  }

  @Test
  void wildcardSubscriber_onNodeB_receivesTopicsFirstPublishedOnNodeA() {
    ConnectionManager a = node();
    ConnectionManager b = node();
    FakeConnection all = FakeConnection.connect(b);
    all.send("{\"action\":\"subscribe\",\"topic\":\"*\"}");
    assertThat(all.next(WAIT).type()).isEqualTo("subscribed");
    assertThat(a.publish("brand-new", "hi")).isTrue();
    Envelope e = all.next(WAIT);
    assertThat(e.topic()).isEqualTo("brand-new");
    assertThat(e.type()).isEqualTo("update");
    assertThat(e.id()).isEqualTo(1);
    assertThat(e.data().asText()).isEqualTo("hi");
  }

  @Test
  void publish_whileRedisIsDownFromTheStart_failsAndRecovers() throws Exception {
    redis.stop();
    RedisClusterBus bus = bus();
    ConnectionManager a = ConnectionManager.builder().clusterBus(bus).build();
    hubs.add(a);
    Reader r = new Reader(subscribe(a, "t"));
    assertThat(r.next().type()).isEqualTo("subscribed");
    assertThat(a.publish("t", "x")).isFalse();
    assertThat(bus.stats().appendFailures()).isGreaterThan(0);
    assertThat(bus.isConnected()).isFalse();
    redis.start();
    await(bus::isConnected, "reconnected");
    assertThat(a.publish("t", "y")).isTrue();
    // Nothing was delivered before, so no reset: the first message comes with the cluster's epoch.
    r.updates(1);
    assertThat(r.updates).containsExactly("y");
    assertThat(r.resets).isEmpty();
    r.c.assertExhausted();
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void bus_closeIsIdempotent_andAHubClosesItsBus() {
    RedisClusterBus bus = bus();
    ConnectionManager a = node(bus);
    a.close();
    await(() -> !bus.isConnected(), "bus closed");
    bus.close();
    assertThatThrownBy(() -> bus.start(new NoSink())).isInstanceOf(IllegalStateException.class);
  }

  private static final class NoSink implements ClusterBus.Sink {
    @Override
    public void message(ClusterBus.Message message) {}

    @Override
    public void connected() {}
  }
}
