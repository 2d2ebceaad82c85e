package io.watchcast;

import static io.watchcast.ClientMessages.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import java.time.Duration;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Topics that exist only because a client subscribed to them: their own budget, retired when no
 * connection holds them, adopted by a later publish or declaration.
 */
final class PlaceholderTopicTest {
  private ConnectionManager hub;

  @AfterEach
  void close() {
    if (hub != null) {
      hub.close();
    }
  }

  @Test
  void clientMadeTopic_isRetiredWhenItsLastSubscriberLeaves_andFreesItsBudget() {
    hub = ConnectionManager.builder().limits(Limits.builder().maxTopics(1).build()).build();
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("ghost"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    assertThat(hub.topic("ghost")).isPresent();

    c.send(ClientMessages.unsubscribe("ghost"));
    assertThat(c.next().type()).isEqualTo("unsubscribed");
    assertThat(hub.topic("ghost")).isEmpty();

    c.send(subscribe("other")); // the budget of one is free again
    assertThat(c.next().type()).isEqualTo("subscribed");
  }

  @Test
  void clientsFillingTheirBudget_neverStopTheApplicationsPublishes() {
    hub = ConnectionManager.builder().limits(Limits.builder().maxTopics(3).build()).build();
    FakeConnection greedy = FakeConnection.connect(hub);
    for (int i = 0; i < 3; i++) {
      greedy.send(subscribe("junk" + i));
      assertThat(greedy.next().type()).isEqualTo("subscribed");
    }
    greedy.send(subscribe("junk3"));
    assertThat(greedy.next().data().path("code").asText()).isEqualTo("too_many_topics");

    for (int i = 0; i < 3; i++) {
      assertThat(hub.publish("app" + i, i)).isTrue();
    }
    assertThat(hub.publish("app3", 3)).isFalse();
  }

  @Test
  void publishedPlaceholder_becomesARealTopic_thatOutlivesItsSubscribers() {
    hub = ConnectionManager.builder().build();
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("early"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    hub.publish("early", 1);
    assertThat(c.next().data().asInt()).isEqualTo(1);

    c.session().close();
    assertThat(hub.topic("early")).isPresent();
    assertThat(hub.snapshot("early")).isPresent();
  }

  @Test
  void declaringATopicThatAClientSubscribedToFirst_givesItTheDeclaredOptions() {
    hub = ConnectionManager.builder().build();
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("logs"));
    assertThat(c.next().type()).isEqualTo("subscribed");

    TopicOptions batch = TopicOptions.of(Throttle.batch(Duration.ofMillis(50), 10));
    hub.declareTopic("logs", batch);
    assertThat(hub.topic("logs").orElseThrow().throttle()).isEqualTo(Throttle.Mode.BATCH);

    hub.publish("logs", "line");
    Envelope first = c.next();
    assertThat(first.data().isArray()).isTrue(); // batch data is a list
    assertThat(first.data().get(0).asText()).isEqualTo("line");
  }

  @Test
  void wildcardSubscriber_doesNotKeepAPlaceholderAlive() {
    hub = ConnectionManager.builder().build();
    FakeConnection all = FakeConnection.connect(hub);
    all.send(subscribe("*"));
    assertThat(all.next().type()).isEqualTo("subscribed");
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("passing"));
    assertThat(c.next().type()).isEqualTo("subscribed");

    c.session().close();
    assertThat(hub.topic("passing")).isEmpty();
    hub.publish("passing", 7); // recreated as a real topic, and '*' still sees it
    Envelope e = all.next();
    assertThat(e.topic()).isEqualTo("passing");
    assertThat(e.data().asInt()).isEqualTo(7);
  }

  @Test
  void firstPublishRacingTheRetirementOfItsPlaceholder_isNeverLost() throws Exception {
    hub =
        ConnectionManager.builder()
            .limits(Limits.builder().rate(Integer.MAX_VALUE, Integer.MAX_VALUE).build())
            .build();
    // Only a topic's first publish can meet a retiring placeholder, so race many fresh topics.
    int rounds = 3_000;
    FakeConnection flipper = FakeConnection.connect(hub);
    CyclicBarrier together = new CyclicBarrier(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<?> flips =
          pool.submit(
              () -> {
                for (int k = 0; k < rounds; k++) {
                  together.await(10, TimeUnit.SECONDS);
                  flipper.send(subscribe("r" + k));
                  flipper.send(ClientMessages.unsubscribe("r" + k));
                }
                return null;
              });
      Future<?> publishes =
          pool.submit(
              () -> {
                for (int k = 0; k < rounds; k++) {
                  together.await(10, TimeUnit.SECONDS);
                  assertThat(hub.publish("r" + k, k)).isTrue();
                }
                return null;
              });
      publishes.get(60, TimeUnit.SECONDS);
      flips.get(60, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
    assertThat(flipper.session().isClosed()).isFalse();
    for (int k = 0; k < rounds; k++) {
      // Each publish got its id on the topic the hub maps: none went into a retired state.
      assertThat(hub.topic("r" + k)).as("topic r%d", k).isPresent();
      assertThat(hub.topic("r" + k).orElseThrow().id()).as("topic r%d", k).isEqualTo(1);
    }
    assertThat(hub.stats().emitted()).isEqualTo(rounds);
  }
}
