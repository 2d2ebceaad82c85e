package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.HubStats;
import io.watchcast.RawJson;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import io.watchcast.testing.Await;
import io.watchcast.testing.SelfSignedTls;
import java.io.IOException;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that stops reading while a topic keeps publishing. The kernel holds at most about the
 * send buffer for it, so the hub's policy applies: a {@code latest} topic conflates, a plain one
 * closes the connection as a slow consumer. Reading again, the client reads at most about the
 * kernel's buffers of old frames before the current value, or before the 1008 close; past the close
 * timeout, before the reset.
 */
final class StalledReaderTest {
  /** The client's SO_RCVBUF: a small buffer, as in the measurement. */
  private static final int RECEIVE_BUFFER = 64 * 1024;

  private static final Duration DEADLINE = Duration.ofSeconds(20);

  private final ConnectionManager hub =
      ConnectionManager.builder()
          .topic("state", TopicOptions.of(Throttle.latest(Duration.ofMillis(1))))
          .build();
  private WebSocketTransport transport;
  private Publisher publisher;

  @AfterEach
  void tearDown() {
    if (publisher != null) {
      publisher.close();
    }
    if (transport != null) {
      transport.close();
    }
    hub.close();
  }

  @Test
  void latestTopic_stalledReader_readsTheCurrentValueAfterAtMostTheKernelBuffers()
      throws Exception {
    try (RawClient stalled = start(null, Duration.ofSeconds(5), "state")) {
      publisher = new Publisher(hub, "state");
      Await.await(
          () -> heldBack(hub.stats()) >= 500,
          "the hub to conflate values for the stalled client",
          DEADLINE);
      long newest = hub.topic("state").orElseThrow().id();
      long bound = kernelBound(stalled);

      // The messages it reads first are what the kernel held (their ids are as old as the stall,
      // the hub conflated the rest); within those, it reaches a value as new as the newest.
      int stale = 0;
      long staleBytes = 0;
      int smallest = Integer.MAX_VALUE;
      Update u;
      while ((u = nextUpdate(stalled)).id < newest) {
        stale++;
        staleBytes += u.bytes;
        smallest = Math.min(smallest, u.bytes);
      }
      long frames = bound / Math.min(smallest, u.bytes);
      assertThat(stale)
          .as(
              "messages read before id %d (%d bytes of buffers hold %d frames)",
              newest, bound, frames)
          .isLessThanOrEqualTo((int) frames);
      assertThat(staleBytes).as("bytes read before id %d", newest).isLessThan(bound);
    }
  }

  @Test
  void plainTopic_stalledReader_isClosed_andReads1008AfterAtMostTheKernelBuffers()
      throws Exception {
    stalledReaderOnAPlainTopic(null);
  }

  @Test
  void overTls_plainTopic_stalledReader_isClosed_andReads1008AfterAtMostTheKernelBuffers(
      @TempDir Path dir) throws Exception {
    stalledReaderOnAPlainTopic(SelfSignedTls.create(dir));
  }

  private void stalledReaderOnAPlainTopic(SelfSignedTls tls) throws Exception {
    // A close timeout longer than the test: this client reads again as soon as it is closed.
    try (RawClient stalled = start(tls, DEADLINE, "feed")) {
      publisher = new Publisher(hub, "feed");
      Await.await(
          () -> hub.stats().slowConsumersClosed() == 1, "the slow consumer's close", DEADLINE);
      publisher.close();
      long bound = kernelBound(stalled);

      long stale = 0;
      long next = 1;
      RawClient.Frame f;
      while ((f = stalled.readFrame()).opcode() != 8) {
        stale += wireBytes(f);
        if (f.opcode() == 1) {
          assertThat(Envelope.parse(f.text()).id()).as("in order, whole frames").isEqualTo(next++);
        }
      }
      assertThat(f.closeCode()).isEqualTo(1008);
      assertThat(f.closeReason()).startsWith("slow_consumer");
      assertThat(stale).as("bytes of old frames before the close frame").isLessThan(bound);
      assertThat(stalled.awaitEof()).as("the end of the stream after the close frame").isTrue();
    }
  }

  @Test
  void stalledPastTheCloseTimeout_isReset_andReadsAtMostTheKernelBuffers() throws Exception {
    try (RawClient stalled = start(null, Duration.ofSeconds(1), "feed")) {
      publisher = new Publisher(hub, "feed");
      Await.await(
          () -> hub.stats().slowConsumersClosed() == 1, "the slow consumer's close", DEADLINE);
      publisher.close();
      Await.await(
          () -> transport.stats().connections() == 0 && transport.socketsLingering() == 0,
          "the connection to be reset",
          DEADLINE);
      // What its own kernel had taken, and at most what the server's kernel still held: the reset
      // is sent when the selector releases the socket, which a loaded machine may delay.
      long bound = kernelBound(stalled);

      long stale = 0;
      SocketException reset = null;
      try {
        while (true) {
          RawClient.Frame f = stalled.readFrame();
          assertThat(f.opcode()).as("a frame before the reset").isNotEqualTo(8);
          stale += wireBytes(f);
        }
      } catch (SocketException e) {
        reset = e;
      }
      assertThat(reset).hasMessageContaining("reset");
      assertThat(stale).as("bytes of old frames before the reset").isLessThan(bound);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private RawClient start(SelfSignedTls tls, Duration closeTimeout, String topic)
      throws IOException {
    WebSocketTransport.Builder b = WebSocketTransport.builder(hub).closeTimeout(closeTimeout);
    if (tls != null) {
      b.tls(tls.server);
    }
    transport = b.build();
    transport.start();
    RawClient c =
        tls == null
            ? new RawClient(transport.port(), RECEIVE_BUFFER)
            : RawClient.overTls(transport.port(), RECEIVE_BUFFER, tls.client);
    assertThat(c.handshake("/ws?topic=" + topic, Map.of())).isEqualTo(101);
    assertThat(c.readFrame().text()).contains("\"subscribed\"");
    return c;
  }

  /**
   * What may wait for a stalled client below the hub's queue, from the buffer sizes: the server
   * socket's send buffer (Linux doubles the value set, and one write may pass it by a segment of up
   * to 64 KiB on loopback), the client's receive buffer (doubled too; the JDK reports the value
   * set), one batch in the socket layer, and a TLS record on each side.
   */
  private long kernelBound(RawClient c) throws IOException {
    return 2L * transport.sendBufferBytes
        + 64 * 1024
        + 2L * c.socket.getReceiveBufferSize()
        + WebSocketTransport.MAX_BATCH_BYTES
        + 2 * 17 * 1024;
  }

  /** Messages emitted on the topic and never handed to the transport: conflated in the queue. */
  private static long heldBack(HubStats s) {
    return s.emitted() - s.delivered();
  }

  private static int wireBytes(RawClient.Frame f) {
    return Frames.headerLength(f.payload().length) + f.payload().length;
  }

  /** An update's id, and the bytes read for it (with any control frame before it). */
  private record Update(long id, int bytes) {}

  private static Update nextUpdate(RawClient c) throws IOException {
    int bytes = 0;
    while (true) {
      RawClient.Frame f = c.readFrame();
      bytes += wireBytes(f);
      if (f.opcode() == 1) {
        return new Update(Envelope.parse(f.text()).id(), bytes);
      }
    }
  }

  /** Publishes a message of about 2 KB every millisecond on its own thread, until closed. */
  private static final class Publisher implements AutoCloseable {
    private static final String PAD = "x".repeat(2000);
    private final Thread thread;
    private volatile boolean stopped;

    Publisher(ConnectionManager hub, String topic) {
      thread =
          new Thread(
              () -> {
                for (int i = 1; !stopped; i++) {
                  hub.publish(topic, RawJson.of("{\"i\":" + i + ",\"pad\":\"" + PAD + "\"}"));
                  LockSupport.parkNanos(1_000_000); // the pace of the stream, not a wait
                }
              },
              "publisher");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      stopped = true;
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
