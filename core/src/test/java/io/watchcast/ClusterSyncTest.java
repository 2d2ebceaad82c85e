package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.Await;
import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The hub's side of a {@link ClusterBus}, against an in-memory cluster with failure switches: the
 * cluster assigns ids, every node applies them in order, gaps are filled from the cluster's log,
 * and an epoch change or a gap the log no longer holds ends in {@code reset}, never a silent gap.
 * The Redis implementation is tested against a real Redis in cluster-redis.
 */
final class ClusterSyncTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  /** One shared cluster; each hub gets its own {@link Bus} on it. */
  static final class FakeCluster {
    final List<Bus> buses = new CopyOnWriteArrayList<>();
    final List<ClusterBus.Message> log = new ArrayList<>(); // guarded by this
    String epoch; // guarded by this
    long seq; // guarded by this
    int keep = 1000; // guarded by this
    volatile boolean down;

    synchronized void wipe() {
      log.clear();
      epoch = null;
      seq = 0;
    }

    final class Bus implements ClusterBus {
      volatile Sink sink;
      volatile int dropNext; // notifications this node will miss

      @Override
      public void start(Sink sink) {
        this.sink = sink;
        buses.add(this);
        sink.connected();
      }

      @Override
      public long append(String topic, String type, byte[] data, long timestamp, int historySize)
          throws IOException {
        if (down) {
          throw new IOException("cluster down");
        }
        ClusterBus.Message m;
        synchronized (FakeCluster.this) {
          if (epoch == null) {
            epoch = "e" + System.nanoTime() % 100000;
          }
          m = new Message(topic, ++seq, epoch, type, timestamp, data);
          log.add(m);
          while (log.size() > keep) {
            log.remove(0);
          }
          for (Bus b : buses) {
            if (b.dropNext > 0) {
              b.dropNext--;
            } else {
              b.sink.message(m);
            }
          }
        }
        return m.id();
      }

      @Override
      public Log read(String topic, String epoch, long afterId, int limit) throws IOException {
        if (down) {
          throw new IOException("cluster down");
        }
        synchronized (FakeCluster.this) {
          if (FakeCluster.this.epoch == null) {
            return new Log(null, 0, List.of());
          }
          long from = FakeCluster.this.epoch.equals(epoch) ? afterId : 0;
          List<Message> out = new ArrayList<>();
          for (Message m : log) {
            if (m.id() > from) {
              out.add(m);
            }
          }
          return new Log(
              FakeCluster.this.epoch,
              seq,
              out.subList(Math.max(0, out.size() - limit), out.size()));
        }
      }

      @Override
      public void close() {
        buses.remove(this);
      }
    }
  }

  private final FakeCluster cluster = new FakeCluster();
  private final List<ConnectionManager> hubs = new ArrayList<>();

  @AfterEach
  void closeHubs() {
    hubs.forEach(ConnectionManager::close);
  }

  private FakeCluster.Bus bus;

  private ConnectionManager node() {
    return node(Limits.defaults());
  }

  private ConnectionManager node(Limits limits) {
    bus = cluster.new Bus();
    ConnectionManager hub = ConnectionManager.builder().limits(limits).clusterBus(bus).build();
    hubs.add(hub);
    return hub;
  }

  /** A node whose connections lag past 1,000 bytes and never count as stalled. */
  private ConnectionManager laggingNode() {
    return node(Limits.builder().maxQueuedBytes(1000).stallTimeout(Duration.ofDays(1)).build());
  }

  /**
   * A reader of {@code t} on {@code hub} that stopped reading before 20 messages of about 400 bytes
   * were published and applied by the node: it lags.
   */
  private static FakeConnection laggingReader(ConnectionManager hub) {
    FakeConnection c = subscribe(hub, "t");
    c.stall();
    for (int i = 1; i <= 20; i++) {
      String json = "{\"i\":" + i + ",\"pad\":\"" + "p".repeat(300) + "\"}";
      assertThat(hub.publish("t", RawJson.of(json))).isTrue();
    }
    Await.await(() -> hub.topic("t").orElseThrow().id() == 20, "the node to apply 20 messages");
    assertThat(hub.stats().laggingConnections()).isEqualTo(1);
    return c;
  }

  private static FakeConnection subscribe(ConnectionManager hub, String topic) {
    FakeConnection c = FakeConnection.connect(hub);
    c.send("{\"action\":\"subscribe\",\"topic\":\"" + topic + "\"}");
    assertThat(c.next(WAIT).type()).isEqualTo("subscribed");
    return c;
  }

  private static String text(Envelope e) {
    return e.data().asText();
  }

  @Test
  void publish_isDeliveredWithTheClustersIds_onEveryNode() {
    ConnectionManager a = node();
    ConnectionManager b = node();
    FakeConnection onB = subscribe(b, "t");
    assertThat(a.publish("t", "x")).isTrue();
    Envelope e = onB.next(WAIT);
    assertThat(e.id()).isEqualTo(1);
    assertThat(e.epoch()).isEqualTo(cluster.epoch);
    assertThat(a.stats().published()).isEqualTo(1);
  }

  @Test
  void missedNotification_isFilledFromTheLog_inOrder() {
    ConnectionManager a = node();
    FakeConnection c = subscribe(a, "t");
    assertThat(a.publish("t", "1")).isTrue();
    assertThat(text(c.next(WAIT))).isEqualTo("1");
    bus.dropNext = 2;
    assertThat(a.publish("t", "2")).isTrue();
    assertThat(a.publish("t", "3")).isTrue();
    assertThat(a.publish("t", "4")).isTrue(); // its id shows the gap: 2 and 3 are read back
    for (String expected : List.of("2", "3", "4")) {
      Envelope e = c.next(WAIT);
      assertThat(e.type()).isEqualTo("update");
      assertThat(text(e)).isEqualTo(expected);
    }
    c.assertExhausted();
  }

  @Test
  void gapTheLogNoLongerHolds_resetsSubscribers() {
    ConnectionManager a = node();
    FakeConnection c = subscribe(a, "t");
    assertThat(a.publish("t", "1")).isTrue();
    c.next(WAIT);
    synchronized (cluster) {
      cluster.keep = 2;
    }
    bus.dropNext = 5;
    for (int i = 2; i <= 7; i++) {
      assertThat(a.publish("t", Integer.toString(i))).isTrue();
    }
    Envelope reset = c.next(WAIT);
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.data().get("reason").asText()).isEqualTo("history_gap");
    assertThat(reset.data().get("id").asLong()).isEqualTo(7);
    Envelope snap = c.next(WAIT);
    assertThat(snap.type()).isEqualTo("snapshot");
    assertThat(text(snap)).isEqualTo("7");
  }

  @Test
  void clusterLosesItsData_subscribersGetResetWithTheNewEpoch() {
    ConnectionManager a = node();
    FakeConnection c = subscribe(a, "t");
    assertThat(a.publish("t", "old")).isTrue();
    String oldEpoch = c.next(WAIT).epoch();
    cluster.wipe();
    cluster.epoch = "fresh";
    assertThat(a.publish("t", "new")).isTrue();
    Envelope reset = c.next(WAIT);
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.data().get("epoch").asText()).isEqualTo("fresh").isNotEqualTo(oldEpoch);
    assertThat(reset.data().get("reason").asText()).isEqualTo("epoch_changed");
    Envelope snap = c.next(WAIT);
    assertThat(snap.type()).isEqualTo("snapshot");
    assertThat(snap.id()).isEqualTo(1);
    assertThat(text(snap)).isEqualTo("new");
  }

  @Test
  void anOutage_logsItsFirstFailure_aSummaryEveryTenSeconds_andTheRecovery_notEveryPublish() {
    ManualScheduler time = new ManualScheduler();
    bus = cluster.new Bus();
    ConnectionManager a =
        ConnectionManager.builder().clusterBus(bus).clock(time).scheduler(time).build();
    hubs.add(a);
    cluster.down = true;
    for (int i = 0; i < 500; i++) { // 5 s at 100 msg/s
      assertThat(a.publish("t", "lost")).isFalse();
      time.advance(Duration.ofMillis(10));
    }
    assertThat(a.stats().publishFailures()).isEqualTo(500);
    assertThat(a.cluster.failureLogLines()).isEqualTo(1);
    time.advance(Duration.ofSeconds(5));
    assertThat(a.publish("t", "lost")).isFalse(); // 10 s after the first line: a summary
    assertThat(a.cluster.failureLogLines()).isEqualTo(2);
    cluster.down = false;
    assertThat(a.publish("t", "kept")).isTrue();
    assertThat(a.publish("t", "kept")).isTrue();
    assertThat(a.cluster.failureLogLines()).isEqualTo(3); // "takes publishes again", once
  }

  @Test
  void laggingReader_catchesUpFromTheNodesHistory_withTheClustersIds() {
    ConnectionManager a = laggingNode();
    FakeConnection c = laggingReader(a);

    c.resume();
    for (int i = 1; i <= 20; i++) {
      Envelope e = c.next(WAIT);
      assertThat(e.type()).isEqualTo("update");
      assertThat(e.id()).isEqualTo(i);
      assertThat(e.epoch()).isEqualTo(cluster.epoch);
      assertThat(e.data().get("i").asInt()).isEqualTo(i);
    }
    c.assertExhausted();
    assertThat(a.stats().caughtUp()).isEqualTo(1);
    assertThat(a.stats().laggingConnections()).isZero();
  }

  @Test
  void clusterResetsATopicALaggingReaderLagsOn_itGetsResetAndSnapshot_thenLiveMessages() {
    ConnectionManager a = laggingNode();
    FakeConnection c = laggingReader(a);
    int queued = c.session().queuedMessages();
    cluster.wipe();
    cluster.epoch = "fresh";
    assertThat(a.publish("t", "new")).isTrue();
    Await.await(() -> "fresh".equals(a.topic("t").orElseThrow().epoch()), "the node's reset");
    assertThat(a.stats().laggingConnections()).isZero();

    c.resume();
    for (int i = 1; i <= queued; i++) {
      assertThat(c.next(WAIT).id()).isEqualTo(i);
    }
    Envelope reset = c.next(WAIT);
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.data().get("reason").asText()).isEqualTo("epoch_changed");
    Envelope snap = c.next(WAIT);
    assertThat(snap.type()).isEqualTo("snapshot");
    assertThat(text(snap)).isEqualTo("new");
    c.assertExhausted();
    assertThat(a.publish("t", "next")).isTrue();
    Envelope live = c.next(WAIT);
    assertThat(live.id()).isEqualTo(2);
    assertThat(live.epoch()).isEqualTo("fresh");
  }

  @Test
  void publish_whileTheClusterIsDown_returnsFalse_countsIt_andDeliversNothing() {
    ConnectionManager a = node();
    FakeConnection c = subscribe(a, "t");
    cluster.down = true;
    assertThat(a.publish("t", "lost")).isFalse();
    assertThat(a.stats().publishFailures()).isEqualTo(1);
    assertThat(a.stats().published()).isZero();
    cluster.down = false;
    assertThat(a.publish("t", "kept")).isTrue();
    assertThat(text(c.next(WAIT))).isEqualTo("kept");
    c.assertExhausted();
  }

  @Test
  void batchTopic_isThrottledOnThePublishingNode_thenSharedAsOneMessage() {
    TopicOptions batched = TopicOptions.of(Throttle.batch(Duration.ofMillis(50), 3));
    ManualScheduler time = new ManualScheduler();
    ConnectionManager a =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .topic("logs", batched)
            .clusterBus(cluster.new Bus())
            .build();
    hubs.add(a);
    ConnectionManager b =
        ConnectionManager.builder().topic("logs", batched).clusterBus(cluster.new Bus()).build();
    hubs.add(b);
    FakeConnection onB = subscribe(b, "logs");
    assertThat(a.publish("logs", "first")).isTrue(); // a quiet topic sends at once
    assertThat(a.publish("logs", "x")).isTrue();
    assertThat(a.publish("logs", "y")).isTrue();
    assertThat(onB.next(WAIT).data().toString()).isEqualTo("[\"first\"]");
    time.advance(Duration.ofMillis(50)); // the end of the window: the flush appends the batch
    Envelope batch = onB.next(WAIT);
    assertThat(batch.data().toString()).isEqualTo("[\"x\",\"y\"]");
    assertThat(batch.id()).isEqualTo(2);
  }

  @Test
  void clusterBus_setTwice_fails() {
    ConnectionManager.Builder b = ConnectionManager.builder().clusterBus(cluster.new Bus());
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.clusterBus(cluster.new Bus()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("clusterBus");
  }

  @Test
  void subscribe_whileTheClusterIsDown_isAnsweredFromTheLocalState() {
    cluster.down = true;
    ConnectionManager a = node();
    FakeConnection c = FakeConnection.connect(a);
    c.send("{\"action\":\"subscribe\",\"topic\":\"t\",\"since\":3,\"epoch\":\"old\"}");
    assertThat(c.next(WAIT).type()).isEqualTo("subscribed");
    Envelope reset = c.next(WAIT);
    assertThat(reset.type()).isEqualTo("reset");
    assertThat(reset.data().get("reason").asText()).isEqualTo("epoch_changed");
  }

  @Test
  void nodeStartedLater_readsTheTopicBeforeASubscribeResumes() {
    ConnectionManager a = node();
    for (int i = 1; i <= 5; i++) {
      assertThat(a.publish("t", Integer.toString(i))).isTrue();
    }
    ConnectionManager late = node();
    FakeConnection c = FakeConnection.connect(late);
    c.send(
        "{\"action\":\"subscribe\",\"topic\":\"t\",\"since\":3,\"epoch\":\""
            + cluster.epoch
            + "\"}");
    assertThat(c.next(WAIT).type()).isEqualTo("subscribed");
    assertThat(text(c.next(WAIT))).isEqualTo("4");
    assertThat(text(c.next(WAIT))).isEqualTo("5");
    c.assertExhausted();
    assertThat(late.snapshot("t").orElseThrow().jsonString()).contains("\"5\"");
  }
}
