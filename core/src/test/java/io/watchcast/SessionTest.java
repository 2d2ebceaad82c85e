package io.watchcast;

import static io.watchcast.ClientMessages.subscribe;
import static io.watchcast.ClientMessages.unsubscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A session as its transport uses it: subscribe replies, the queue, drainTo, close. */
final class SessionTest {
  private final ManualScheduler time = new ManualScheduler();
  private final ConnectionManager hub =
      ConnectionManager.builder().clock(time).scheduler(time).build();

  @AfterEach
  void closeHub() {
    hub.close();
  }

  // ---------------------------------------------------------------------------------------------
  // subscribe / unsubscribe

  @Test
  void subscribe_repliesSubscribedWithEpochAndLastId_thenTheSnapshot_thenLive() {
    hub.publish("t", 1);
    hub.publish("t", 2);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(subscribe("t"));

    Envelope subscribed = c.next();
    assertThat(subscribed.type()).isEqualTo("subscribed");
    assertThat(subscribed.topic()).isEqualTo("t");
    assertThat(subscribed.id()).isZero();
    assertThat(subscribed.epoch()).isNull();
    assertThat(subscribed.data().path("epoch").asText())
        .isEqualTo(hub.topic("t").orElseThrow().epoch());
    assertThat(subscribed.data().path("id").asLong()).isEqualTo(2);
    Envelope snapshot = c.next();
    assertThat(snapshot.type()).isEqualTo("snapshot");
    assertThat(snapshot.id()).isEqualTo(2);
    assertThat(snapshot.data().asInt()).isEqualTo(2);
    c.assertExhausted();
    hub.publish("t", 3);
    assertThat(c.next().id()).isEqualTo(3);
  }

  @Test
  void subscribe_toATopicThatNeverPublished_sendsNoSnapshot() {
    FakeConnection c = FakeConnection.connect(hub);

    c.send(subscribe("t"));

    assertThat(c.next().data().path("id").asLong()).isZero();
    c.assertExhausted();
    assertThat(hub.topic("t")).isPresent();
  }

  @Test
  void subscribe_sameTopicTwice_isAnsweredAgain_andChangesNothing() {
    hub.publish("t", 1);
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("t"));
    c.takeAll();

    c.send(subscribe("t"));

    assertThat(c.next().type()).isEqualTo("subscribed");
    c.assertExhausted(); // no second snapshot
    hub.publish("t", 2);
    assertThat(c.next().id()).isEqualTo(2);
    c.assertExhausted(); // delivered once
    assertThat(c.session().subscriptionCount()).isEqualTo(1);
  }

  @Test
  void unsubscribe_isAnswered_andNothingOfTheTopicFollows() {
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("t"));
    c.next();

    c.send(unsubscribe("t"));

    Envelope reply = c.next();
    assertThat(reply.type()).isEqualTo("unsubscribed");
    assertThat(reply.topic()).isEqualTo("t");
    hub.publish("t", 1);
    c.assertExhausted();
    assertThat(c.session().subscriptionCount()).isZero();
    assertThat(hub.topic("t").orElseThrow().subscribers()).isZero();
  }

  @Test
  void unsubscribe_fromATopicNotSubscribed_orUnknown_isAnsweredToo_andCreatesNothing() {
    hub.publish("known", 1);
    FakeConnection c = FakeConnection.connect(hub);

    c.send(unsubscribe("known"));
    c.send(unsubscribe("unknown"));

    assertThat(c.next().type()).isEqualTo("unsubscribed");
    Envelope second = c.next();
    assertThat(second.type()).isEqualTo("unsubscribed");
    assertThat(second.topic()).isEqualTo("unknown");
    assertThat(hub.topic("unknown")).isEmpty();
  }

  @Test
  void subscribeThroughTheApi_validatesLikeTheClientAction() {
    FakeConnection c = FakeConnection.connect(hub);

    c.session().subscribe("bad topic", -1, null);
    c.session().subscribe("ok", -1, null);
    c.session().unsubscribe("bad topic");

    assertThat(ClientMessages.code(c.next())).isEqualTo("invalid_topic");
    assertThat(c.next().type()).isEqualTo("subscribed");
    assertThat(ClientMessages.code(c.next())).isEqualTo("invalid_topic");
    assertThat(hub.topic("bad topic")).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // The queue and drainTo

  @Test
  void drainTo_movesMessagesOldestFirst_withinMaxBytes_butAlwaysAtLeastOne() {
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("t"));
    c.next();
    c.stall();
    for (int i = 1; i <= 5; i++) {
      hub.publish("t", i);
    }
    Session s = c.session();
    assertThat(s.queuedMessages()).isEqualTo(5);
    long queued = s.queuedBytes();
    List<EncodedMessage> out = new ArrayList<>();

    assertThat(s.drainTo(out, 1)).isEqualTo(1); // larger than maxBytes, still one
    int one = out.get(0).size();
    assertThat(s.queuedBytes()).isEqualTo(queued - one);
    assertThat(s.drainTo(out, 2 * one)).isEqualTo(2);
    assertThat(s.drainTo(out, Integer.MAX_VALUE)).isEqualTo(2);
    assertThat(s.drainTo(out, Integer.MAX_VALUE)).isZero();

    assertThat(out).extracting(EncodedMessage::id).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(s.queuedBytes()).isZero();
    assertThat(s.queuedMessages()).isZero();
    assertThat(hub.stats().delivered()).isEqualTo(1 + 5);
  }

  @Test
  void messagesAvailable_isCalledOncePerTransitionFromEmpty() {
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("t"));
    c.next();
    int wakeupsAfterSubscribe = c.wakeups();
    c.stall();

    hub.publish("t", 1);
    hub.publish("t", 2);
    hub.publish("t", 3);
    assertThat(c.wakeups() - wakeupsAfterSubscribe).isEqualTo(1);

    c.resume(); // drains to empty
    hub.publish("t", 4);
    assertThat(c.wakeups() - wakeupsAfterSubscribe).isEqualTo(2);
  }

  // ---------------------------------------------------------------------------------------------
  // close

  @Test
  void close_dropsWhatWaits_leavesEveryTopic_andIsIdempotent() {
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("a"));
    c.send(subscribe("*"));
    c.takeAll();
    c.stall();
    hub.publish("a", 1);
    hub.publish("b", 2);

    c.session().close();
    c.session().close();

    assertThat(c.session().isClosed()).isTrue();
    assertThat(c.session().queuedBytes()).isZero();
    assertThat(c.closeCalls()).as("the transport closed it; the hub does not call back").isZero();
    HubStats stats = hub.stats();
    assertThat(stats.dropped()).isEqualTo(2);
    assertThat(stats.connections()).isZero();
    assertThat(stats.subscribers()).containsEntry("a", 0).containsEntry("b", 0);
    hub.publish("c", 3); // a new topic does not pick up the closed session through '*'
    assertThat(hub.topic("c").orElseThrow().subscribers()).isZero();
  }

  @Test
  void afterClose_clientMessagesAndSubscribesAreIgnored() {
    FakeConnection c = FakeConnection.connect(hub);
    c.session().close();

    c.send(subscribe("t"));
    c.send("not json");
    c.session().subscribe("u", -1, null);

    c.assertExhausted();
    assertThat(hub.topic("t")).isEmpty();
    assertThat(hub.topic("u")).isEmpty();
    assertThat(hub.stats().clientErrors()).isZero();
  }

  @Test
  void connection_isTheOneRegistered() {
    FakeConnection c = FakeConnection.connect(hub);
    assertThat(c.session().connection()).isSameAs(c);
    assertThat(c.session().toString()).contains(c.id());
  }
}
