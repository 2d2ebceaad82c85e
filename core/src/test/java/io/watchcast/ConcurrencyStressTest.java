package io.watchcast;

import static io.watchcast.ClientMessages.subscribe;
import static io.watchcast.ClientMessages.unsubscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Latch-started stress of the hub's ordering promise: per topic, every connection receives every
 * message in id order, with no loss and no duplicate, under concurrent publishers, concurrent
 * draining threads, and subscriptions that come and go. Deadlines are generous: the machine is
 * shared; these tests assert correctness, never speed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
final class ConcurrencyStressTest {
  private static final int PUBLISHERS = 4;
  private static final int PER_PUBLISHER = 10_000;
  private static final int TOTAL = PUBLISHERS * PER_PUBLISHER;
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  private final List<ExecutorService> executors = new ArrayList<>();
  private ConnectionManager hub;

  /** A hub whose queues never close a subscriber here: these tests are about order, not limits. */
  private ConnectionManager hub() {
    hub =
        ConnectionManager.builder()
            .limits(
                Limits.builder()
                    .maxQueuedBytes(256L * 1024 * 1024)
                    .rate(1_000_000_000, 1_000_000_000) // the churn test sends as fast as it can
                    .build())
            .build();
    return hub;
  }

  private ExecutorService pool(int threads) {
    ExecutorService e = Executors.newFixedThreadPool(threads);
    executors.add(e);
    return e;
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (hub != null) {
      hub.close();
    }
    for (ExecutorService e : executors) {
      e.shutdownNow();
      assertThat(e.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  /** Starts {@code PUBLISHERS} threads at one latch; each publishes {"p":p,"n":0..} in order. */
  private List<Future<?>> startPublishers(String topic, CountDownLatch start) {
    return startPublishers(topic, PUBLISHERS, PER_PUBLISHER, start, n -> {});
  }

  /**
   * Starts {@code count} threads at one latch; each publishes {"p":p,"n":0..perPublisher-1} in
   * order, and calls {@code afterEach} with n after each publish.
   */
  private List<Future<?>> startPublishers(
      String topic, int count, int perPublisher, CountDownLatch start, IntConsumer afterEach) {
    ExecutorService publishers = pool(count);
    List<Future<?>> futures = new ArrayList<>();
    for (int p = 0; p < count; p++) {
      int publisher = p;
      futures.add(
          publishers.submit(
              (Callable<Void>)
                  () -> {
                    start.await();
                    for (int n = 0; n < perPublisher; n++) {
                      if (!hub.publish(
                          topic, RawJson.of("{\"p\":" + publisher + ",\"n\":" + n + "}"))) {
                        throw new AssertionError("publish refused");
                      }
                      afterEach.accept(n);
                    }
                    return null;
                  }));
    }
    return futures;
  }

  private static void awaitAll(List<Future<?>> futures) throws Exception {
    for (Future<?> f : futures) {
      f.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
  }

  /** Waits until {@code c} holds {@code count} messages in its recorder, then takes them. */
  private static List<EncodedMessage> awaitMessages(FakeConnection c, int count) {
    List<EncodedMessage> out = new ArrayList<>(count);
    while (out.size() < count) {
      out.add(c.nextRaw(DEADLINE));
    }
    c.assertExhausted();
    return out;
  }

  /** Asserts ids 1..TOTAL in order, and each publisher's messages in its publish order. */
  private static void assertCompleteStream(List<EncodedMessage> got) {
    assertThat(got).hasSize(TOTAL);
    int[] nextOf = new int[PUBLISHERS];
    for (int i = 0; i < TOTAL; i++) {
      EncodedMessage m = got.get(i);
      assertThat(m.id()).as("message %d", i).isEqualTo(i + 1);
      Envelope e = Envelope.parse(m.jsonString());
      int p = e.data().path("p").asInt();
      int n = e.data().path("n").asInt();
      assertThat(n).as("publisher %d's order", p).isEqualTo(nextOf[p]);
      nextOf[p]++;
    }
    for (int p = 0; p < PUBLISHERS; p++) {
      assertThat(nextOf[p]).isEqualTo(PER_PUBLISHER);
    }
  }

  /** {@code n} connections drained on {@code drainers}, each subscribed to {@code topic}. */
  private List<FakeConnection> subscribers(int n, String topic, ExecutorService drainers) {
    List<FakeConnection> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      FakeConnection c = new FakeConnection().drainOn(drainers);
      c.attach(hub.register(c));
      c.send(subscribe(topic));
      out.add(c);
    }
    return out;
  }

  private FakeConnection subscribed(FakeConnection c) {
    c.attach(hub.register(c));
    c.send(subscribe("t"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    return c;
  }

  @Test
  void fourPublishers_everySubscriberSeesEveryIdOnce_inOrder_andEachPublishersOrder()
      throws Exception {
    hub();
    List<FakeConnection> subscribers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      subscribers.add(subscribed(new FakeConnection()));
    }
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> publishers = startPublishers("t", start);

    start.countDown();
    awaitAll(publishers);

    List<EncodedMessage> first = awaitMessages(subscribers.get(0), TOTAL);
    assertCompleteStream(first);
    for (FakeConnection c : subscribers.subList(1, subscribers.size())) {
      List<EncodedMessage> got = awaitMessages(c, TOTAL);
      for (int i = 0; i < TOTAL; i++) {
        // Not just equal: the very message encoded once per publish.
        assertThat(got.get(i)).isSameAs(first.get(i));
      }
    }
    HubStats stats = hub.stats();
    assertThat(stats.published()).isEqualTo(TOTAL);
    assertThat(stats.emitted()).isEqualTo(TOTAL);
    assertThat(stats.delivered()).isEqualTo(4L * TOTAL + 4);
    assertThat(stats.dropped()).isZero();
    assertThat(hub.topic("t").orElseThrow().id()).isEqualTo(TOTAL);
  }

  @Test
  void fourPublishers_withSubscribersDrainingOnOtherThreads_andLateJoiners_loseNothing()
      throws Exception {
    hub();
    ExecutorService drainers = pool(3);
    List<FakeConnection> subscribers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      subscribers.add(subscribed(new FakeConnection().drainOn(drainers)));
    }
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> publishers = startPublishers("t", start);

    start.countDown();
    // Late joiners subscribe while the publishers run: snapshot k, then k+1.. with no gap.
    List<FakeConnection> late = subscribers(3, "t", drainers);
    awaitAll(publishers);

    List<EncodedMessage> first = awaitMessages(subscribers.get(0), TOTAL);
    assertCompleteStream(first);
    for (FakeConnection c : subscribers.subList(1, subscribers.size())) {
      List<EncodedMessage> got = awaitMessages(c, TOTAL);
      for (int i = 0; i < TOTAL; i++) {
        assertThat(got.get(i)).isSameAs(first.get(i));
      }
    }
    for (FakeConnection c : late) {
      Envelope subscribedReply = c.next(DEADLINE);
      assertThat(subscribedReply.type()).isEqualTo("subscribed");
      long k = subscribedReply.data().path("id").asLong();
      long expected = k + 1;
      if (k > 0) {
        Envelope snapshot = c.next(DEADLINE);
        assertThat(snapshot.type()).isEqualTo("snapshot");
        assertThat(snapshot.id()).isEqualTo(k);
      }
      while (expected <= TOTAL) {
        EncodedMessage m = c.nextRaw(DEADLINE);
        assertThat(m.id()).isEqualTo(expected++);
      }
      c.assertExhausted();
    }
  }

  /**
   * A connection subscribes and unsubscribes over and over while four publishers run: each
   * subscription sees {@code subscribed} (id k), the snapshot k, then k+1, k+2, ... with no gap,
   * and nothing of the topic after its {@code unsubscribed}.
   */
  @Test
  void subscribeUnsubscribeChurn_duringPublishing_eachSubscriptionIsAContiguousRun()
      throws Exception {
    hub();
    FakeConnection steady = subscribed(new FakeConnection());
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> publishers = startPublishers("t", start);
    FakeConnection churn = FakeConnection.connect(hub);
    AtomicBoolean done = new AtomicBoolean();

    start.countDown();
    Future<Integer> churner =
        pool(1)
            .submit(
                () -> {
                  int runs = 0;
                  while (!done.get()) {
                    churn.send(subscribe("t"));
                    churn.send(unsubscribe("t"));
                    runs++;
                  }
                  return runs;
                });
    awaitAll(publishers);
    done.set(true);
    int runs = churner.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);

    assertCompleteStream(awaitMessages(steady, TOTAL));
    List<Envelope> got = churn.takeAll();
    int index = 0;
    for (int run = 0; run < runs; run++) {
      Envelope reply = got.get(index++);
      assertThat(reply.type()).isEqualTo("subscribed");
      long expected = reply.data().path("id").asLong();
      if (expected > 0) {
        Envelope snapshot = got.get(index++);
        assertThat(snapshot.type()).isEqualTo("snapshot");
        assertThat(snapshot.id()).isEqualTo(expected);
      }
      while (true) {
        Envelope e = got.get(index++);
        if (e.type().equals("unsubscribed")) {
          break;
        }
        assertThat(e.type()).isEqualTo("update");
        assertThat(e.id()).as("run %d", run).isEqualTo(++expected);
      }
    }
    assertThat(index).isEqualTo(got.size());
    assertThat(runs).isPositive();
  }

  /**
   * Two publishers on each of four topics, to a reader whose queue holds a few dozen messages and
   * which starts draining, on its own thread, only once a publisher is 500 messages in: it lags on
   * every topic over and over, catching up from history while the publishers run. Per topic it must
   * see every id once, in order, and each publisher's messages in that publisher's order.
   */
  @Test
  void publishersOnFourTopics_toAReaderThatLags_eachTopicExactlyOnceInOrder() throws Exception {
    int topics = 4;
    int perPublisher = 5_000;
    ConnectionManager.Builder b =
        ConnectionManager.builder()
            .limits(
                Limits.builder()
                    .maxQueuedBytes(8 * 1024)
                    .stallTimeout(Duration.ofDays(1)) // about order, not stalls
                    .build());
    for (int t = 0; t < topics; t++) {
      b.topic("t" + t, TopicOptions.defaults().withHistory(100_000, Duration.ofDays(1)));
    }
    hub = b.build();
    try (GatedDrainer drainer = new GatedDrainer()) {
      FakeConnection reader = new FakeConnection().drainOn(drainer);
      reader.attach(hub.register(reader));
      for (int t = 0; t < topics; t++) {
        reader.send(subscribe("t" + t));
      }
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < topics; t++) {
        futures.addAll(
            startPublishers(
                "t" + t,
                2,
                perPublisher,
                start,
                n -> {
                  if (n == 500) {
                    drainer.open();
                  }
                }));
      }

      start.countDown();
      awaitAll(futures);
      assertEveryTopicOnceInOrder(reader, topics, perPublisher);
    }
  }

  /** {@code topics} topics t0.. of two publishers each: every id once, in order, per topic. */
  private void assertEveryTopicOnceInOrder(FakeConnection reader, int topics, int perPublisher) {
    long[] lastId = new long[topics];
    int[][] nextOf = new int[topics][2];
    int subscribed = 0;
    for (int received = 0; received < topics * 2 * perPublisher; ) {
      Envelope e = Envelope.parse(reader.nextRaw(DEADLINE).jsonString());
      if (e.type().equals("subscribed")) {
        subscribed++;
        continue;
      }
      assertThat(e.type()).isEqualTo("update");
      int t = Integer.parseInt(e.topic().substring(1));
      assertThat(e.id()).as("topic %s", e.topic()).isEqualTo(++lastId[t]);
      int p = e.data().path("p").asInt();
      assertThat(e.data().path("n").asInt())
          .as("publisher %d of %s", p, e.topic())
          .isEqualTo(nextOf[t][p]++);
      received++;
    }
    assertThat(subscribed).isEqualTo(topics);
    reader.assertExhausted();
    assertThat(reader.closeReason()).isNull();
    HubStats stats = hub.stats();
    assertThat(stats.lagged()).isPositive();
    assertThat(stats.caughtUp()).isPositive();
    assertThat(stats.overflowResets()).isZero();
    assertThat(stats.slowConsumersClosed()).isZero();
    assertThat(stats.laggingConnections()).isZero();
  }

  /** Two publishers per throttled topic, the hub's own scheduler, drains on other threads. */
  private List<Future<?>> startTwoPublishers(String topic, int perPublisher, CountDownLatch start) {
    ExecutorService publishers = pool(2);
    List<Future<?>> futures = new ArrayList<>();
    for (int p = 0; p < 2; p++) {
      int publisher = p;
      futures.add(
          publishers.submit(
              (Callable<Void>)
                  () -> {
                    start.await();
                    for (int n = 0; n < perPublisher; n++) {
                      hub.publish(topic, RawJson.of("{\"p\":" + publisher + ",\"n\":" + n + "}"));
                    }
                    return null;
                  }));
    }
    return futures;
  }

  @Test
  void latestTopic_underTwoPublishers_neverDeliversAnOlderValue_andEndsOnTheNewest()
      throws Exception {
    hub =
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(256L * 1024 * 1024).build())
            .topic("s", TopicOptions.of(Throttle.latest(Duration.ofMillis(1))))
            .build();
    ExecutorService drainers = pool(2);
    List<FakeConnection> subscribers = subscribers(3, "s", drainers);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> publishers = startTwoPublishers("s", 20_000, start);

    start.countDown();
    awaitAll(publishers);

    // The last publish of all: whatever the interleaving, it must reach everyone, last.
    hub.publish("s", RawJson.of("{\"p\":2,\"n\":0}"));

    for (FakeConnection c : subscribers) {
      assertThat(c.next(DEADLINE).type()).isEqualTo("subscribed");
      int[] lastOf = {-1, -1, -1};
      long lastId = 0;
      int deliveries = 0;
      while (lastOf[2] < 0) {
        Envelope e = c.next(DEADLINE);
        assertThat(e.id()).as("ids only grow").isGreaterThan(lastId);
        lastId = e.id();
        int p = e.data().path("p").asInt();
        int n = e.data().path("n").asInt();
        assertThat(n).as("publisher %d's values only move forward", p).isGreaterThan(lastOf[p]);
        lastOf[p] = n;
        deliveries++;
      }
      assertThat(lastId).isEqualTo(hub.topic("s").orElseThrow().id());
      assertThat(deliveries).isLessThan(40_000); // conflation happened
    }
    assertAllExhausted(subscribers);
  }

  private static void assertAllExhausted(List<FakeConnection> subscribers) {
    for (FakeConnection c : subscribers) {
      c.assertExhausted();
    }
  }

  @Test
  void batchTopic_underTwoPublishers_deliversEveryItemOnce_inEachPublishersOrder()
      throws Exception {
    int perPublisher = 20_000;
    hub =
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(256L * 1024 * 1024).build())
            .topic("logs", TopicOptions.of(Throttle.batch(Duration.ofMillis(1), 50)))
            .build();
    ExecutorService drainers = pool(2);
    List<FakeConnection> subscribers = subscribers(3, "logs", drainers);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> publishers = startTwoPublishers("logs", perPublisher, start);

    start.countDown();
    awaitAll(publishers);

    for (FakeConnection c : subscribers) {
      assertThat(c.next(DEADLINE).type()).isEqualTo("subscribed");
      int[] nextOf = new int[2];
      long id = 0;
      int items = 0;
      while (items < 2 * perPublisher) {
        Envelope e = c.next(DEADLINE);
        assertThat(e.id()).isEqualTo(++id);
        assertThat(e.data().size()).isBetween(1, 50);
        for (com.fasterxml.jackson.databind.JsonNode item : e.data()) {
          int p = item.path("p").asInt();
          assertThat(item.path("n").asInt()).as("publisher %d's order", p).isEqualTo(nextOf[p]);
          nextOf[p]++;
          items++;
        }
      }
      c.assertExhausted();
    }
    assertThat(hub.stats().published()).isEqualTo(2L * perPublisher);
  }
}
