package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.RawJson;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import io.watchcast.testing.SelfSignedTls;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One client stops reading while 1,000 messages of 10 KB go out: the others get all of them, the
 * stalled one is closed (plain topic) or conflated (latest topic), and what the server holds for it
 * stays within its budget. The hub closes a slow consumer as soon as its queue passes the limit
 * ({@code stallTimeout} zero), not after a second without reading: these tests are about the
 * transport's side of the close, whatever the burst's duration.
 */
final class SlowConsumerTest {
  private static final int MESSAGES = 1000;
  private static final String PAD = "x".repeat(10_000);

  /** One batch, plus a control frame or two. */
  private static final long PER_CONNECTION_BOUND = WebSocketTransport.MAX_BATCH_BYTES + 512;

  private final ConnectionManager hub =
      ConnectionManager.builder()
          .limits(io.watchcast.Limits.builder().stallTimeout(Duration.ZERO).build())
          .topic("state", TopicOptions.of(Throttle.latest(Duration.ofMillis(2))))
          .build();
  private WebSocketTransport transport;
  private final List<TestClient> goods = new ArrayList<>();

  @AfterEach
  void tearDown() {
    goods.forEach(TestClient::close);
    if (transport != null) {
      transport.close();
    }
    hub.close();
  }

  private static RawJson message(int i) {
    return RawJson.of("{\"i\":" + i + ",\"pad\":\"" + PAD + "\"}");
  }

  private static void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("timed out waiting for %s", what).isLessThan(deadline);
      Thread.onSpinWait();
    }
  }

  @Test
  void stalledReader_onAPlainTopic_isClosedWith1008_othersGetEverything() throws Exception {
    stalledReaderOnAPlainTopic(null);
  }

  @Test
  void overTls_stalledReader_isClosedWith1008_othersGetEverything(@TempDir Path dir)
      throws Exception {
    stalledReaderOnAPlainTopic(SelfSignedTls.create(dir));
  }

  private void stalledReaderOnAPlainTopic(SelfSignedTls tls) throws Exception {
    WebSocketTransport.Builder b = WebSocketTransport.builder(hub);
    if (tls != null) {
      b.tls(tls.server);
    }
    transport = b.build();
    transport.start();
    HttpClient http =
        tls == null ? TestClient.HTTP : HttpClient.newBuilder().sslContext(tls.client).build();
    List<AtomicInteger> progress = new ArrayList<>();
    List<CompletableFuture<Void>> readers = new ArrayList<>();
    for (int g = 0; g < 3; g++) {
      TestClient c =
          TestClient.connectAsync(http, transport.uri() + "?topic=feed", Map.of())
              .get(20, TimeUnit.SECONDS);
      c.next("subscribed");
      goods.add(c);
      AtomicInteger got = new AtomicInteger();
      progress.add(got);
      readers.add(
          CompletableFuture.runAsync(
              () -> {
                for (int i = 1; i <= MESSAGES; i++) {
                  Envelope e = c.next("update");
                  assertThat(e.id()).isEqualTo(i);
                  assertThat(e.data().get("i").asInt()).isEqualTo(i);
                  got.set(i);
                }
              }));
    }
    try (RawClient stalled =
        tls == null
            ? new RawClient(transport.port(), 8192)
            : RawClient.overTls(transport.port(), 8192, tls.client)) {
      assertThat(stalled.handshake("/ws?topic=feed", Map.of())).isEqualTo(101);
      assertThat(stalled.readFrame().text()).contains("\"subscribed\"");
      // ...and reads nothing more until the server gives up on it.

      long maxBuffered = 0;
      CompletableFuture<RawClient.Frame> closeSeen = null;
      for (int i = 1; i <= MESSAGES; i++) {
        int n = i;
        // Keep the good clients within 50 messages, so that only the stalled one falls behind.
        await(
            () -> progress.stream().mapToInt(AtomicInteger::get).min().orElse(0) >= n - 50,
            "good clients");
        assertThat(hub.publish("feed", message(i))).isTrue();
        maxBuffered = Math.max(maxBuffered, transport.maxBufferedBytesPerConnection());
        if (closeSeen == null && hub.stats().slowConsumersClosed() > 0) {
          // Start reading again: the close frame is queued behind what was waiting.
          closeSeen = CompletableFuture.supplyAsync(() -> readUntilClose(stalled));
        }
      }
      CompletableFuture.allOf(readers.toArray(new CompletableFuture<?>[0]))
          .get(60, TimeUnit.SECONDS);
      assertThat(hub.stats().slowConsumersClosed()).isEqualTo(1);
      assertThat(closeSeen).as("the stalled client was never closed").isNotNull();
      RawClient.Frame close = closeSeen.get(30, TimeUnit.SECONDS);
      assertThat(close.closeCode()).isEqualTo(1008);
      assertThat(close.closeReason()).startsWith("slow_consumer");
      assertThat(maxBuffered).isLessThanOrEqualTo(PER_CONNECTION_BOUND);
    }
  }

  /** Reads updates in order (no gap, no duplicate) up to the close frame. */
  private static RawClient.Frame readUntilClose(RawClient raw) {
    try {
      long expected = 1;
      while (true) {
        RawClient.Frame f = raw.readFrame();
        if (f.opcode() == 8) {
          assertThat(expected - 1).as("updates before the close").isLessThan(MESSAGES);
          return f;
        }
        if (f.opcode() == 1) {
          assertThat(Envelope.parse(f.text()).id()).isEqualTo(expected++);
        }
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void stalledReader_onALatestTopic_isConflated_notClosed_andGetsTheLastValue() throws Exception {
    transport = WebSocketTransport.builder(hub).build();
    transport.start();
    TestClient good = TestClient.connect(transport.uri() + "?topic=state");
    goods.add(good);
    good.next("subscribed");
    try (RawClient stalled = new RawClient(transport.port(), 8192)) {
      assertThat(stalled.handshake("/ws?topic=state", Map.of())).isEqualTo(101);
      assertThat(stalled.readFrame().text()).contains("\"subscribed\"");
      long maxBuffered = 0;
      for (int i = 1; i <= MESSAGES; i++) {
        assertThat(hub.publish("state", message(i))).isTrue();
        maxBuffered = Math.max(maxBuffered, transport.maxBufferedBytesPerConnection());
      }
      assertThat(good.nextMatching(e -> e.data().get("i").asInt() == MESSAGES)).isNotNull();
      assertThat(hub.stats().slowConsumersClosed()).isZero();
      assertThat(maxBuffered).isLessThanOrEqualTo(PER_CONNECTION_BOUND);
      // Reading again, it ends with the newest value, having skipped stale ones.
      int received = 0;
      long lastId = 0;
      while (true) {
        RawClient.Frame f = stalled.readFrame();
        if (f.opcode() != 1) {
          continue;
        }
        Envelope e = Envelope.parse(f.text());
        assertThat(e.id()).isGreaterThan(lastId);
        lastId = e.id();
        received++;
        if (e.data().get("i").asInt() == MESSAGES) {
          break;
        }
      }
      assertThat(received).isLessThan(MESSAGES);
      assertThat(hub.stats().conflated()).isPositive();
    }
  }

  @Test
  void backlog_leavesInOneWrite() throws Exception {
    // A budget large enough to hold what the socket cannot: 8 MiB is more than loopback's socket
    // buffers (4 MiB send, small receive), so the small frames below wait behind a blocked write.
    ConnectionManager bigBudget =
        ConnectionManager.builder()
            .limits(io.watchcast.Limits.builder().maxQueuedBytes(16 << 20).build())
            .build();
    try (WebSocketTransport t = WebSocketTransport.builder(bigBudget).build();
        RawClient slow = startAndConnect(t)) {
      String pad = "y".repeat(30_000);
      int large = (8 << 20) / 30_000;
      for (int k = 0; k < large; k++) {
        bigBudget.publish("feed", RawJson.of("{\"pad\":\"" + pad + "\"}"));
      }
      for (int k = 1; k <= 100; k++) {
        bigBudget.publish("feed", k);
      }
      slow.socket.setReceiveBufferSize(1 << 20); // read the 8 MiB back quickly
      long id = 0;
      while (id < large + 100) {
        RawClient.Frame f = slow.readFrame();
        if (f.opcode() == 1) {
          assertThat(Envelope.parse(f.text()).id()).isEqualTo(++id);
        }
      }
      // Each large frame may leave alone (while the socket keeps up); the 100 small ones leave with
      // the last large one and in at most one more write. One write per frame would be 100 more.
      WebSocketStats s = t.stats();
      assertThat(s.framesSent()).isEqualTo(1 + large + 100); // with "subscribed"
      assertThat(s.writes()).isLessThanOrEqualTo(1 + large + 1);
    } finally {
      bigBudget.close();
    }
  }

  @Test
  void closedClientThatNeverReads_isDroppedAfterCloseTimeout_andItsBuffersReleased()
      throws Exception {
    transport = WebSocketTransport.builder(hub).closeTimeout(Duration.ofSeconds(1)).build();
    try (RawClient stalled = startAndConnect(transport)) {
      // One 8 MB message: a single message may pass the queue limit, and its frame is more than
      // loopback's socket buffers take (4 MiB send, a small receive buffer), so it stays unwritten.
      RawJson huge = RawJson.of("{\"pad\":\"" + "h".repeat(8_000_000) + "\"}");
      hub.publish("feed", huge);
      await(() -> transport.maxBufferedBytesPerConnection() > 1_000_000, "a stuck frame");
      hub.publish("feed", huge); // waits in the hub: the queue is at its limit
      hub.publish("feed", message(1)); // past it: closed as a slow consumer, 1008 queued behind
      assertThat(hub.stats().slowConsumersClosed()).isEqualTo(1);
      long closedAt = System.nanoTime();
      await(() -> transport.stats().connections() == 0, "the connection to be dropped");
      await(() -> transport.bufferedBytes() == 0, "its buffers to be released");
      assertThat(System.nanoTime() - closedAt).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(900));
    }
  }

  private static RawClient startAndConnect(WebSocketTransport t) throws IOException {
    t.start();
    RawClient slow = new RawClient(t.port(), 8192);
    assertThat(slow.handshake("/ws?topic=feed", Map.of())).isEqualTo(101);
    assertThat(slow.readFrame().text()).contains("\"subscribed\"");
    return slow;
  }
}
