package io.watchcast;

import static io.watchcast.ClientMessages.ping;
import static io.watchcast.ClientMessages.subscribe;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The hub's public API: publish, topics, stats, lifecycle, and what misuse gets back. */
final class ConnectionManagerTest {
  private final ManualScheduler time = new ManualScheduler();
  private final List<ConnectionManager> hubs = new ArrayList<>();

  private ConnectionManager hub() {
    return track(ConnectionManager.builder().clock(time).scheduler(time).build());
  }

  private ConnectionManager track(ConnectionManager hub) {
    hubs.add(hub);
    return hub;
  }

  @AfterEach
  void closeHubs() {
    hubs.forEach(ConnectionManager::close);
  }

  private static FakeConnection subscriber(ConnectionManager hub, String topic) {
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe(topic));
    assertThat(c.next().type()).isEqualTo("subscribed");
    return c;
  }

  /** Data Jackson cannot serialize: its getter throws. */
  public static final class Exploding {
    public String getValue() {
      throw new IllegalStateException("getter failure switch");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // publish

  @Test
  void publish_deliversAnUpdate_withTheTopicsIdEpochAndTheClockTimestamp() {
    ConnectionManager hub = hub();
    FakeConnection c = subscriber(hub, "t");

    assertThat(hub.publish("t", Map.of("cpu", 45.2))).isTrue();

    Envelope e = c.next();
    assertThat(e.type()).isEqualTo("update");
    assertThat(e.topic()).isEqualTo("t");
    assertThat(e.data().path("cpu").asDouble()).isEqualTo(45.2);
    assertThat(e.timestamp()).isEqualTo(time.millis());
    assertThat(e.id()).isEqualTo(1);
    assertThat(e.epoch()).isEqualTo(hub.topic("t").orElseThrow().epoch()).isNotBlank();
  }

  @Test
  void publish_withAnApplicationType_deliversThatType() {
    ConnectionManager hub = hub();
    FakeConnection c = subscriber(hub, "t");

    hub.publish("t", "alert", "disk full");

    Envelope e = c.next();
    assertThat(e.type()).isEqualTo("alert");
    assertThat(e.data().asText()).isEqualTo("disk full");
  }

  @Test
  void publish_rawJson_isSentAsIs() {
    ConnectionManager hub = hub();
    FakeConnection c = subscriber(hub, "t");

    hub.publish("t", RawJson.of("{\"b\":2,\"a\":[1,\"\u00e9\"]}"));

    assertThat(c.nextRaw(Duration.ofSeconds(5)).jsonString())
        .contains("\"data\":{\"b\":2,\"a\":[1,\"\u00e9\"]}");
  }

  @Test
  void publish_serializesNow_laterChangesToTheObjectAreNotSeen() {
    ConnectionManager hub = hub();
    FakeConnection c = subscriber(hub, "t");
    Map<String, Integer> data = new HashMap<>();
    data.put("v", 1);

    hub.publish("t", data);
    data.put("v", 2);

    assertThat(c.next().data().path("v").asInt()).isEqualTo(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "a/b", "*", "system", "caf\u00e9"})
  void publish_toAnInvalidTopic_throwsIllegalArgument_sayingWhy(String topic) {
    ConnectionManager hub = hub();

    assertThatThrownBy(() -> hub.publish(topic, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(Topics.problem(topic))
        .hasMessageContaining("topic");
    assertThat(hub.topics()).isEmpty();
  }

  @Test
  void publish_invalidTopic_messagesNameTheRule() {
    ConnectionManager hub = hub();
    assertThatThrownBy(() -> hub.publish("x".repeat(129), 1))
        .hasMessageContaining("129")
        .hasMessageContaining("128");
    assertThatThrownBy(() -> hub.publish("a b", 1))
        .hasMessageContaining("' '")
        .hasMessageContaining("index 1");
    assertThatThrownBy(() -> hub.publish(null, 1))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("topic");
  }

  @ParameterizedTest
  @ValueSource(strings = {"snapshot", "subscribed", "unsubscribed", "pong", "error", "reset"})
  void publish_withAControlType_throwsIllegalArgument(String type) {
    ConnectionManager hub = hub();
    FakeConnection c = subscriber(hub, "t");

    assertThatThrownBy(() -> hub.publish("t", type, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(type)
        .hasMessageContaining("control type");
    c.assertExhausted();
    assertThat(hub.topic("t").orElseThrow().id()).isZero();
  }

  @Test
  void publish_withAMalformedType_throwsIllegalArgument() {
    ConnectionManager hub = hub();
    assertThatThrownBy(() -> hub.publish("t", "", 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> hub.publish("t", "a\"b", 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> hub.publish("t", "x".repeat(65), 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("64");
    assertThatThrownBy(() -> hub.publish("t", null, 1))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("type");
    assertThat(hub.publish("t", "x".repeat(64), 1)).isTrue();
  }

  @Test
  void publish_ofUnserializableData_returnsFalse_countsIt_andNeverThrows() {
    ConnectionManager hub = hub();
    FakeConnection c = subscriber(hub, "t");

    assertThat(hub.publish("t", new Exploding())).isFalse();
    assertThat(hub.publish("t", new Object())).isFalse(); // no properties: Jackson refuses

    HubStats stats = hub.stats();
    assertThat(stats.publishFailures()).isEqualTo(2);
    assertThat(stats.published()).isZero();
    c.assertExhausted();
    // No id was spent: the stream has no gap.
    assertThat(hub.publish("t", 1)).isTrue();
    assertThat(c.next().id()).isEqualTo(1);
  }

  @Test
  void publish_afterClose_returnsFalse() {
    ConnectionManager hub = hub();
    hub.close();

    assertThat(hub.publish("t", 1)).isFalse();
    assertThat(hub.stats().publishFailures()).isEqualTo(1);
  }

  @Test
  void publish_withNoSubscribers_keepsTheSnapshot() {
    ConnectionManager hub = hub();

    hub.publish("t", 1);
    hub.publish("t", 2);

    EncodedMessage snap = hub.snapshot("t").orElseThrow();
    assertThat(snap.type()).isEqualTo("snapshot");
    assertThat(snap.id()).isEqualTo(2);
    assertThat(Envelope.parse(snap.jsonString()).data().asInt()).isEqualTo(2);
    assertThat(hub.snapshot("t")).containsSame(snap); // encoded once per emitted message
    assertThat(hub.snapshot("unknown")).isEmpty();
    assertThatThrownBy(() -> hub.snapshot("a b")).isInstanceOf(IllegalArgumentException.class);
  }

  // ---------------------------------------------------------------------------------------------
  // A connection that misbehaves

  @Test
  void connectionWhoseMessagesAvailableThrows_doesNotHurtOthers_orThePublisher() {
    ConnectionManager hub = hub();
    FakeConnection broken = subscriber(hub, "t").failMessagesAvailable(true);
    FakeConnection healthy = subscriber(hub, "t");

    for (int i = 1; i <= 3; i++) {
      assertThat(hub.publish("t", i)).isTrue();
    }

    assertThat(healthy.takeAll()).extracting(Envelope::id).containsExactly(1L, 2L, 3L);
    // Its messages wait for it; its transport can still drain them.
    assertThat(broken.session().queuedMessages()).isEqualTo(3);
    broken.failMessagesAvailable(false).drain();
    assertThat(broken.takeAll()).extracting(Envelope::id).containsExactly(1L, 2L, 3L);
  }

  @Test
  void connectionWhoseCloseThrows_doesNotStopTheHubFromClosingTheOthers() {
    ConnectionManager hub = hub();
    FakeConnection broken = FakeConnection.connect(hub).failClose(true);
    FakeConnection healthy = FakeConnection.connect(hub);

    assertThatNoException().isThrownBy(hub::close);

    assertThat(broken.closeReason().code()).isEqualTo(CloseReason.GOING_AWAY);
    assertThat(healthy.closeReason().code()).isEqualTo(CloseReason.GOING_AWAY);
    assertThat(hub.stats().connections()).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Topics

  @Test
  void declareTopic_sameOptionsTwice_isFine_otherOptions_throwIllegalState() {
    ConnectionManager hub = hub();
    TopicOptions latest = TopicOptions.of(Throttle.latest(Duration.ofMillis(100)));
    hub.declareTopic("t", latest);
    hub.declareTopic("t", TopicOptions.of(Throttle.latest(Duration.ofMillis(100))));

    assertThatThrownBy(() -> hub.declareTopic("t", TopicOptions.defaults()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'t'");
    assertThat(hub.topic("t").orElseThrow().throttle()).isEqualTo(Throttle.Mode.LATEST);
  }

  @Test
  void declareTopic_onATopicThatExistsWithOtherOptions_throws_andLeavesNoTrace() {
    ConnectionManager hub = hub();
    hub.publish("t", 1); // created with the default options
    TopicOptions batch = TopicOptions.of(Throttle.batch(Duration.ofMillis(100), 10));

    assertThatThrownBy(() -> hub.declareTopic("t", batch))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already exists");

    // The failed declaration is forgotten: the topic's real options can still be declared.
    assertThatNoException().isThrownBy(() -> hub.declareTopic("t", TopicOptions.defaults()));
  }

  @Test
  void declareTopic_rejectsInvalidNamesAndNull() {
    ConnectionManager hub = hub();
    assertThatThrownBy(() -> hub.declareTopic("*", TopicOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> hub.declareTopic("t", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("options");
  }

  @Test
  void builder_topicDeclaredTwice_throwsIllegalState() {
    ConnectionManager.Builder b = ConnectionManager.builder().topic("t", TopicOptions.defaults());
    assertThatThrownBy(() -> b.topic("t", TopicOptions.defaults()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("twice");
    assertThatThrownBy(() -> b.topic("bad name", TopicOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.clock(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void topics_describesEveryTopic_sortedByName() {
    ConnectionManager hub =
        track(
            ConnectionManager.builder()
                .clock(time)
                .scheduler(time)
                .topic("stats", TopicOptions.of(Throttle.latest(Duration.ofMillis(100))))
                .build());
    hub.publish("b", 1);
    hub.publish("b", 2);
    subscriber(hub, "a");

    List<TopicInfo> topics = hub.topics();

    assertThat(topics).extracting(TopicInfo::name).containsExactly("a", "b", "stats");
    TopicInfo a = topics.get(0);
    assertThat(a.id()).isZero();
    assertThat(a.subscribers()).isEqualTo(1);
    assertThat(a.hasSnapshot()).isFalse();
    TopicInfo b = topics.get(1);
    assertThat(b.id()).isEqualTo(2);
    assertThat(b.hasSnapshot()).isTrue();
    assertThat(b.throttle()).isEqualTo(Throttle.Mode.NONE);
    assertThat(topics.get(2).throttle()).isEqualTo(Throttle.Mode.LATEST);
    assertThat(a.epoch()).isNotEqualTo(b.epoch());
  }

  @Test
  void topicNames_areCaseSensitive() {
    ConnectionManager hub = hub();
    FakeConnection lower = subscriber(hub, "a");

    hub.publish("A", 1);
    hub.publish("a", 2);

    assertThat(lower.takeAll()).extracting(e -> e.data().asInt()).containsExactly(2);
    assertThat(hub.topics()).hasSize(2);
  }

  // ---------------------------------------------------------------------------------------------
  // Stats

  @Test
  void stats_countConnectionsSubscribersAndMessages() {
    ConnectionManager hub = hub();
    FakeConnection a = subscriber(hub, "t");
    FakeConnection b = subscriber(hub, "t");
    FakeConnection all = subscriber(hub, "*");
    FakeConnection idle = FakeConnection.connect(hub);
    idle.send("nonsense");

    hub.publish("t", 1);
    hub.publish("u", 2);
    hub.publish("t", new Object());

    HubStats stats = hub.stats();
    assertThat(stats.connections()).isEqualTo(4);
    assertThat(stats.topics()).isEqualTo(2);
    assertThat(stats.subscribers()).containsExactlyInAnyOrderEntriesOf(Map.of("t", 3, "u", 1));
    assertThat(stats.published()).isEqualTo(2);
    assertThat(stats.emitted()).isEqualTo(2);
    // 3 subscribed + 1 error, then t:1 to three connections and u:2 to one.
    assertThat(stats.delivered()).isEqualTo(4 + 3 + 1);
    assertThat(stats.publishFailures()).isEqualTo(1);
    assertThat(stats.clientErrors()).isEqualTo(1);
    assertThat(stats.dropped()).isZero();
    assertThatThrownBy(() -> stats.subscribers().put("x", 1))
        .isInstanceOf(UnsupportedOperationException.class);

    a.session().close();
    assertThat(hub.stats().connections()).isEqualTo(3);
    assertThat(hub.stats().subscribers()).containsEntry("t", 2);
    assertThat(stats.connections()).as("a snapshot does not change").isEqualTo(4);
    assertThat(b.takeAll()).hasSize(1);
    assertThat(all.takeAll()).hasSize(2);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  @Test
  void close_withTenThousandSubscribersOnOneTopic_doesNotCopyTheListPerSession() {
    ConnectionManager hub = hub();
    List<FakeConnection> all = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      FakeConnection c = FakeConnection.connect(hub);
      c.send(ClientMessages.subscribe("wide"));
      all.add(c);
    }
    assertThat(hub.topic("wide").orElseThrow().subscribers()).isEqualTo(10_000);
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();

    hub.close();

    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    // Copying the 10,000-entry list once per detaching session allocated about 400 MB.
    assertThat(allocated).isLessThan(32L * 1024 * 1024);
    assertThat(all).allSatisfy(c -> assertThat(c.session().isClosed()).isTrue());
    assertThat(hub.stats().connections()).isZero();
  }

  @Test
  void close_closesEveryConnectionWithGoingAway_once_andIsIdempotent() {
    ConnectionManager hub = hub();
    FakeConnection a = subscriber(hub, "t");
    FakeConnection b = FakeConnection.connect(hub);

    hub.close();
    hub.close();

    for (FakeConnection c : List.of(a, b)) {
      assertThat(c.closeReason().code()).isEqualTo(CloseReason.GOING_AWAY);
      assertThat(c.closeCalls()).isEqualTo(1);
      assertThat(c.session().isClosed()).isTrue();
    }
    assertThat(hub.isClosed()).isTrue();
    assertThat(hub.stats().connections()).isZero();
    assertThat(hub.stats().subscribers().getOrDefault("t", 0)).isZero();
    assertThatThrownBy(() -> hub.register(new FakeConnection()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    a.send(ping()); // ignored, no reply, no exception
    a.assertExhausted();
  }

  private static Set<Thread> throttleThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("watchcast-throttle"))
        .collect(Collectors.toSet());
  }

  @Test
  void hubsOwnScheduler_startsOnFirstNeed_notInTheConstructor_andStopsOnClose() throws Exception {
    Set<Thread> before = throttleThreads();
    ConnectionManager hub =
        track(
            ConnectionManager.builder()
                .topic("t", TopicOptions.of(Throttle.latest(Duration.ofMillis(10))))
                .build());
    assertThat(before).containsAll(throttleThreads()); // nothing new (old ones may be ending)

    hub.publish("t", 1); // first after quiet: out at once, no scheduler yet
    hub.publish("t", 2); // pending: needs the end of the window
    Set<Thread> started = throttleThreads();
    started.removeAll(before);
    assertThat(started).hasSize(1);
    Thread thread = started.iterator().next();
    assertThat(thread.isDaemon()).isTrue();

    hub.close();
    thread.join(10_000);
    assertThat(thread.isAlive()).isFalse();
  }

  @Test
  void twoHubsInOneJvm_areIndependent() {
    ConnectionManager one = hub();
    ConnectionManager two = hub();
    FakeConnection onOne = subscriber(one, "t");
    FakeConnection onTwo = subscriber(two, "t");

    one.publish("t", "one");
    one.publish("t", "one again");
    two.publish("t", "two");
    one.close();

    assertThat(onOne.takeAll())
        .extracting(e -> e.data().asText())
        .containsExactly("one", "one again");
    assertThat(onTwo.takeAll()).extracting(e -> e.data().asText()).containsExactly("two");
    assertThat(one.topic("t").orElseThrow().epoch())
        .isNotEqualTo(two.topic("t").orElseThrow().epoch());
    assertThat(two.topic("t").orElseThrow().id()).isEqualTo(1);
    assertThat(two.isClosed()).isFalse();
    assertThat(onTwo.closeReason()).isNull();
    assertThat(two.stats().published()).isEqualTo(1);
    assertThat(two.publish("t", "still")).isTrue();
    assertThat(onTwo.next().data().asText()).isEqualTo("still");
  }

  @Test
  void epochs_differBetweenTopicsAndHubs() {
    ConnectionManager hub = hub();
    Set<String> epochs = new java.util.HashSet<>();
    for (int i = 0; i < 200; i++) {
      hub.publish("t" + i, i);
      epochs.add(hub.topic("t" + i).orElseThrow().epoch());
    }
    assertThat(epochs).hasSizeGreaterThan(195); // random: a rare collision is harmless
    assertThat(epochs).allMatch(e -> e.matches("[0-9a-z]{1,16}"));
  }
}
