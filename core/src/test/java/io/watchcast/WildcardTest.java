package io.watchcast;

import static io.watchcast.ClientMessages.subscribe;
import static io.watchcast.ClientMessages.unsubscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The {@code *} subscription: every topic, present and future, each message once. */
final class WildcardTest {
  private ConnectionManager hub = ConnectionManager.builder().build();
  private ExecutorService executor;

  @AfterEach
  void tearDown() throws InterruptedException {
    hub.close();
    if (executor != null) {
      executor.shutdownNow();
      assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  private FakeConnection wildcardSubscriber() {
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("*"));
    Envelope reply = c.next();
    assertThat(reply.type()).isEqualTo("subscribed");
    assertThat(reply.topic()).isEqualTo("*");
    return c;
  }

  @Test
  void wildcard_receivesTheSnapshotOfEveryExistingTopic() {
    hub.publish("a", 1);
    hub.publish("b", 2);
    hub.declareTopic("empty", TopicOptions.defaults());

    FakeConnection c = wildcardSubscriber();

    List<Envelope> snapshots = c.takeAll();
    assertThat(snapshots).extracting(Envelope::type).containsOnly("snapshot");
    assertThat(snapshots).extracting(Envelope::topic).containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void publishRightAfterTheSubscribedReply_arrivesAsAnUpdate() {
    // The client publishes (through the app) the moment it reads "subscribed": the topic it creates
    // must already see the wildcard subscriber, else the value would come back as a snapshot.
    AtomicBoolean published = new AtomicBoolean();
    FakeConnection c = new FakeConnection();
    c.drainOn(
        drain -> {
          drain.run();
          if (c.receivedCount() > 0 && published.compareAndSet(false, true)) {
            hub.publish("a", 1);
          }
        });
    c.attach(hub.register(c));
    c.send(subscribe("*"));

    Envelope reply = c.next();
    assertThat(reply.type()).isEqualTo("subscribed");
    Envelope first = c.next();
    assertThat(first.topic()).isEqualTo("a");
    assertThat(first.type()).isEqualTo("update");
  }

  @Test
  void wildcard_receivesEveryTopic_includingTopicsCreatedLater() {
    hub.publish("old", 0);
    FakeConnection c = wildcardSubscriber();
    c.takeAll();

    hub.publish("old", 1);
    hub.publish("new", 2);
    hub.declareTopic("declared-later", TopicOptions.defaults());
    hub.publish("declared-later", 3);

    List<Envelope> got = c.takeAll();
    assertThat(got).extracting(Envelope::topic).containsExactly("old", "new", "declared-later");
    assertThat(got).extracting(e -> e.data().asInt()).containsExactly(1, 2, 3);
    assertThat(got).extracting(Envelope::type).containsOnly("update");
    assertThat(hub.topic("new").orElseThrow().subscribers()).isEqualTo(1);
  }

  @Test
  void wildcardAndExplicitSubscription_deliverEachMessageOnce() {
    FakeConnection c = wildcardSubscriber();
    c.send(subscribe("a"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    FakeConnection d = FakeConnection.connect(hub);
    d.send(subscribe("b"));
    d.next();
    d.send(subscribe("*"));
    d.next();

    hub.publish("a", 1);
    hub.publish("b", 2);

    assertThat(c.takeAll()).extracting(Envelope::topic).containsExactly("a", "b");
    assertThat(d.takeAll()).extracting(Envelope::topic).containsExactly("a", "b");
    assertThat(hub.topic("a").orElseThrow().subscribers()).isEqualTo(2);
  }

  @Test
  void unsubscribeWildcard_keepsExplicitSubscriptions_andStopsTheRest() {
    FakeConnection c = wildcardSubscriber();
    c.send(subscribe("kept"));
    c.next();
    hub.publish("dropped", 0);
    c.takeAll();

    c.send(unsubscribe("*"));
    Envelope reply = c.next();
    assertThat(reply.type()).isEqualTo("unsubscribed");
    assertThat(reply.topic()).isEqualTo("*");

    hub.publish("kept", 1);
    hub.publish("dropped", 2);
    hub.publish("brand-new", 3);
    assertThat(c.takeAll()).extracting(Envelope::topic).containsExactly("kept");
    assertThat(c.session().subscriptionCount()).isEqualTo(1);
    assertThat(hub.topic("dropped").orElseThrow().subscribers()).isZero();
  }

  @Test
  void unsubscribeExplicit_whileTheWildcardRemains_keepsReceivingThroughTheWildcard() {
    FakeConnection c = wildcardSubscriber();
    c.send(subscribe("a"));
    c.next();

    c.send(unsubscribe("a"));
    assertThat(c.next().type()).isEqualTo("unsubscribed");
    hub.publish("a", 1);

    assertThat(c.next().data().asInt()).isEqualTo(1);
    assertThat(c.session().subscriptionCount()).isEqualTo(1);
  }

  @Test
  void wildcardTwice_isOneSubscription_andSendsNoSecondSnapshot() {
    hub.publish("a", 1);
    FakeConnection c = wildcardSubscriber();
    c.takeAll();

    c.send(subscribe("*"));

    assertThat(c.next().type()).isEqualTo("subscribed");
    c.assertExhausted();
    assertThat(c.session().subscriptionCount()).isEqualTo(1);
    hub.publish("a", 2);
    assertThat(c.next().data().asInt()).isEqualTo(2);
    c.assertExhausted();
  }

  @Test
  void wildcard_isNotATopic_toPublishOrSnapshot() {
    FakeConnection c = wildcardSubscriber();
    assertThat(hub.topics()).isEmpty();
    assertThat(hub.topic("*")).isEmpty();
    c.assertExhausted();
  }

  /**
   * Topics created on one thread while another subscribes to {@code *}: every topic ends up with
   * the wildcard subscriber, however the two interleave. Repeated to give the race a chance.
   */
  @Test
  void wildcardSubscribe_racingTopicCreation_missesNoTopic() throws Exception {
    executor = Executors.newFixedThreadPool(2);
    int topics = 50;
    for (int round = 0; round < 1_000; round++) {
      try (ConnectionManager h = ConnectionManager.builder().build()) {
        FakeConnection c = new FakeConnection();
        c.attach(h.register(c));
        raceTopicCreation(h, topics, () -> c.send(subscribe("*")));
        List<String> missing = topicsWhere(h, t -> t.subscribers() != 1);
        assertThat(missing).as("round %d: topics without the wildcard subscriber", round).isEmpty();
      }
    }
  }

  /**
   * The other side of the race: after {@code *} is dropped, no topic created meanwhile keeps it.
   */
  @Test
  void wildcardUnsubscribe_racingTopicCreation_leavesNoTopicSubscribed() throws Exception {
    executor = Executors.newFixedThreadPool(2);
    int topics = 50;
    for (int round = 0; round < 1_000; round++) {
      try (ConnectionManager h = ConnectionManager.builder().build()) {
        FakeConnection c = new FakeConnection();
        c.attach(h.register(c));
        c.send(subscribe("*"));
        raceTopicCreation(h, topics, () -> c.send(unsubscribe("*")));
        List<String> still = topicsWhere(h, t -> t.subscribers() != 0);
        assertThat(still).as("round %d: topics still subscribed", round).isEmpty();
        assertThat(c.session().subscriptionCount()).isZero();
      }
    }
  }

  /** Publishes to {@code topics} new topics on one thread while {@code action} runs on another. */
  private void raceTopicCreation(ConnectionManager h, int topics, Runnable action)
      throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    Future<?> creator =
        executor.submit(
            () -> {
              start.await();
              for (int i = 0; i < topics; i++) {
                h.publish("t" + i, i);
              }
              return null;
            });
    Future<?> other =
        executor.submit(
            () -> {
              start.await();
              action.run();
              return null;
            });
    start.countDown();
    creator.get(30, TimeUnit.SECONDS);
    other.get(30, TimeUnit.SECONDS);
  }

  private static List<String> topicsWhere(
      ConnectionManager h, java.util.function.Predicate<TopicInfo> test) {
    List<String> names = new ArrayList<>();
    for (TopicInfo t : h.topics()) {
      if (test.test(t)) {
        names.add(t.name());
      }
    }
    return names;
  }
}
