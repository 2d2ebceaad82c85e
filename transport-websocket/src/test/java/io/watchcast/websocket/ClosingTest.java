package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.ConnectionManager;
import io.watchcast.Limits;
import io.watchcast.testing.Await;
import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * How connections end: dead peers are found and reset, and a close frame the server sends arrives
 * even at a client that is still sending and not reading yet. Each test has its own hub and server.
 */
final class ClosingTest {
  private static final Duration DEADLINE = Duration.ofSeconds(20);

  private static final UnaryOperator<WebSocketTransport.Builder> PING_EVERY_SECOND =
      b -> b.connectionLostTimeout(Duration.ofSeconds(1));

  /** A hub and a started transport serving it, closed together. */
  private record Served(ConnectionManager hub, WebSocketTransport transport)
      implements AutoCloseable {
    static Served start(UnaryOperator<WebSocketTransport.Builder> settings) throws IOException {
      return start(ConnectionManager.builder().build(), settings);
    }

    static Served start(ConnectionManager hub, UnaryOperator<WebSocketTransport.Builder> settings)
        throws IOException {
      WebSocketTransport t = settings.apply(WebSocketTransport.builder(hub)).build();
      try {
        t.start();
      } catch (IOException | RuntimeException e) {
        t.close();
        hub.close();
        throw e;
      }
      return new Served(hub, t);
    }

    @Override
    public void close() {
      transport.close();
      hub.close();
    }
  }

  /** A raw client through the handshake on {@code path}, with a small receive buffer if > 0. */
  private static RawClient open(WebSocketTransport t, String path, int receiveBuffer)
      throws IOException {
    RawClient raw = new RawClient(t.port(), receiveBuffer);
    assertThat(raw.handshake(path, Map.of())).isEqualTo(101);
    return raw;
  }

  /**
   * A raw client with a small receive buffer, subscribed to "feed" and never reading, and 512 KiB
   * published to it: its receive buffer and the server's send buffer are full, and the rest waits
   * in the server (under the hub's 1 MiB limit, so it is no slow consumer).
   */
  private static RawClient backloggedSubscriber(Served served) throws IOException {
    ConnectionManager hub = served.hub();
    RawClient raw = open(served.transport(), "/ws?topic=feed", 4096);
    Await.await(
        () -> hub.stats().subscribers().getOrDefault("feed", 0) == 1, "subscribed", DEADLINE);
    String value = "x".repeat(16 * 1024);
    for (int i = 0; i < 32; i++) {
      hub.publish("feed", value);
    }
    return raw;
  }

  private static boolean holdsBytes(WebSocketTransport t) {
    return t.maxBufferedBytesPerConnection() > 0;
  }

  // Dead peers

  @Test
  void silentSubscriber_isDropped_withAReset_notLeftWithItsBacklog() throws IOException {
    try (Served s = Served.start(PING_EVERY_SECOND);
        RawClient raw = backloggedSubscriber(s)) {
      // It neither reads nor writes, so it never answers a ping.
      Await.await(
          () -> s.transport().stats().connections() == 0, "the silent peer dropped", DEADLINE);
      // Reading now, it gets what its own receive buffer held, then the reset: the server keeps
      // nothing for it (a plain close would leave the backlog queued in the server's kernel, ahead
      // of the FIN, for a client that does not read).
      assertThatThrownBy(
              () -> {
                while (true) {
                  raw.readFrame();
                }
              })
          .isInstanceOf(SocketException.class)
          .hasMessageContaining("reset");
    }
  }

  @Test
  void halfOpenConnection_thatNeverAnswersPings_isDropped() throws IOException {
    try (Served s = Served.start(PING_EVERY_SECOND);
        RawClient raw = open(s.transport(), "/ws", 0)) {
      // Reads (so the socket never backs up) but never answers the server's pings.
      int pings = 0;
      try {
        while (true) {
          if (raw.readFrame().opcode() == 9) {
            pings++;
          }
        }
      } catch (IOException dropped) {
        // within the socket timeout (20 s), or readFrame would have thrown SocketTimeoutException
        assertThat(dropped).isNotInstanceOf(SocketTimeoutException.class);
      }
      assertThat(pings).isPositive();
    }
  }

  @Test
  void clientThatAnswersPings_staysConnected() throws IOException {
    try (Served s = Served.start(PING_EVERY_SECOND);
        RawClient raw = open(s.transport(), "/ws", 0)) {
      int pings = 0;
      while (pings < 3) { // three ping intervals: twice the time a silent peer is given
        RawClient.Frame f = raw.readFrame();
        if (f.opcode() == 9) {
          pings++;
          raw.sendFrame(10, f.payload());
        }
      }
      raw.sendText("{\"action\":\"ping\"}");
      RawClient.Frame f;
      do {
        f = raw.readFrame();
      } while (f.opcode() == 9);
      assertThat(f.text()).contains("\"pong\"");
    }
  }

  // The close frame arrives

  @Test
  void closeFrame_reachesAClientThatKeepsSending_andReadsOnlyLater() throws Exception {
    try (Served s = Served.start(b -> b.closeTimeout(DEADLINE));
        RawClient raw = backloggedSubscriber(s)) {
      // A frame over the limit, then more frames, sent on while the client does not read: the
      // server's close frame waits behind the backlog, and input keeps arriving after it decided
      // to close. Closing the socket then would reset it and lose the close frame.
      AtomicLong sentAfter = new AtomicLong();
      AtomicReference<IOException> sendFailed = new AtomicReference<>();
      AtomicInteger stop = new AtomicInteger();
      byte[] over = new byte[64 * 1024 + 1];
      Arrays.fill(over, (byte) ' ');
      byte[] more = RawClient.frame(1, new byte[4096], true);
      Thread sender =
          new Thread(
              () -> {
                try {
                  raw.out.write(RawClient.frame(1, over, true));
                  while (stop.get() == 0) {
                    raw.out.write(more);
                    sentAfter.addAndGet(more.length);
                  }
                } catch (IOException e) {
                  sendFailed.set(e); // a reset: the server closed, the close frame is lost
                }
              },
              "sender");
      sender.start();
      try {
        // The server reads (and discards) 1 MiB past the frame: it has long decided to close.
        Await.await(
            () -> sentAfter.get() > 1024 * 1024 || sendFailed.get() != null,
            "the server reads on",
            DEADLINE);
        RawClient.Frame close = raw.readUntilClose(); // the backlog, then the close frame
        assertThat(close.closeCode()).isEqualTo(1009);
      } finally {
        stop.set(1);
        sender.join(TimeUnit.SECONDS.toMillis(20));
      }
    }
  }

  @Test
  void afterTheServersCloseFrame_theClientsMessagesAreNotProcessed() throws IOException {
    AtomicInteger asked = new AtomicInteger();
    ConnectionManager hub =
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(64 << 20).build())
            .authorizer(
                (connection, topic) -> {
                  if (topic.equals("late")) {
                    asked.incrementAndGet();
                  }
                  return true;
                })
            .build();
    try (Served s = Served.start(hub, b -> b);
        RawClient raw = open(s.transport(), "/ws?topic=feed", 4096)) {
      Await.await(
          () -> hub.stats().subscribers().getOrDefault("feed", 0) == 1, "subscribed", DEADLINE);
      // Publish until the transport itself holds bytes for the client (the kernel's send buffer
      // takes MiBs first): the close frame then mostly waits in the server, so that the connection
      // is still there, closing, when the frame after the binary one is decoded. (Without a fix,
      // the frame is handed to the hub unless the socket was closed first: a race.)
      String value = "x".repeat(64 * 1024);
      for (int published = 1; !holdsBytes(s.transport()); published++) {
        hub.publish("feed", value);
        long handed = published + 1; // and the 'subscribed' reply
        Await.await(
            () -> hub.stats().delivered() >= handed || holdsBytes(s.transport()),
            "handed to the transport",
            DEADLINE);
      }
      byte[] binary = RawClient.frame(2, new byte[] {1, 2, 3}, true);
      byte[] subscribe =
          RawClient.frame(1, "{\"action\":\"subscribe\",\"topic\":\"late\"}".getBytes(), true);
      byte[] both = Arrays.copyOf(binary, binary.length + subscribe.length);
      System.arraycopy(subscribe, 0, both, binary.length, subscribe.length);
      raw.out.write(both); // one write: both frames arrive in the same read
      raw.out.flush();
      assertThat(raw.readUntilClose().closeCode()).isEqualTo(1003); // after the backlog
      assertThat(asked.get()).as("a subscribe decided after the close").isZero();
    }
  }
}
