package io.watchcast.websocket;

import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.EncodedMessage;
import io.watchcast.Session;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.java_websocket.WebSocketImpl;
import org.java_websocket.framing.CloseFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client: the hub's {@link Connection} over one Java-WebSocket connection.
 *
 * <p>Outbound path. The hub calls {@link #messagesAvailable()} (any thread) when this connection's
 * queue becomes non-empty; that hands the connection to the transport's writer thread. If nothing
 * waits in the socket layer, {@link #writeDirect()} drains the session (up to {@link
 * WebSocketTransport#MAX_BATCH_BYTES}), concatenates the pre-built frames and writes them to the
 * socket in one call. Otherwise (or for what the socket did not take) the {@link Frames#PULL}
 * marker goes behind what waits in Java-WebSocket's queue; when the selector reaches it, everything
 * before it has been written, and {@link #pull()} queues the next batch as one buffer. So the
 * socket layer holds at most one batch per connection and a backlog leaves in one write.
 */
final class WsConnection implements Connection {
  private static final Logger log = LoggerFactory.getLogger(WsConnection.class);

  static final int HANDSHAKE = 0;
  static final int REJECTED = 1;
  static final int OPEN = 2;
  static final int ENDED = 3;

  final Engine engine;
  final WebSocketImpl ws;
  final String id;
  final long acceptedAtNanos = System.nanoTime();
  private volatile int state = HANDSHAKE;
  private volatile InetSocketAddress remote;
  private volatile Object principal;
  private volatile Session session;
  private volatile QueryParameters query;
  private final AtomicBoolean counted = new AtomicBoolean();
  private volatile long closingSinceNanos;
  // Set once when the hub closes this connection as a slow consumer: its socket is reset at the
  // close timeout, not closed.
  private volatile boolean slowConsumer;
  private final AtomicBoolean ended = new AtomicBoolean();
  // How the socket ends: lingering once everything queued was written, or reset when dropped.
  private volatile boolean lingerOnClose;
  private volatile boolean resetOnClose;
  // Dead-peer detection (housekeeping thread; pongs from the worker thread).
  private volatile long lastPongNanos;
  private long lastPingNanos;

  // The outbound state: whether a PULL marker is queued or a pull is running.
  private final AtomicBoolean pullQueued = new AtomicBoolean();
  // Used under the ws monitor only (selector or writer thread).
  private final List<EncodedMessage> batch = new ArrayList<>();
  private volatile HookedChannel channel;

  WsConnection(Engine engine, WebSocketImpl ws, String id) {
    this.engine = engine;
    this.ws = ws;
    this.id = id;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String remoteAddress() {
    InetSocketAddress r = remote;
    return r == null ? "unknown" : r.getAddress().getHostAddress();
  }

  InetAddress remoteInetAddress() {
    InetSocketAddress r = remote;
    return r == null ? null : r.getAddress();
  }

  void channel(HookedChannel channel) {
    this.channel = channel;
  }

  void remote(InetSocketAddress remote) {
    this.remote = remote;
  }

  @Override
  public Optional<Object> principal() {
    return Optional.ofNullable(principal);
  }

  boolean awaitingHandshake() {
    return state == HANDSHAKE;
  }

  int state() {
    return state;
  }

  Session session() {
    return session;
  }

  /** Called on the worker thread once the handshake was accepted (before {@link #open}). */
  void admitted(Object principal, QueryParameters query) {
    this.principal = principal;
    this.query = query;
  }

  /** Sets whether the connection holds a place under the limits; returns the previous value. */
  boolean counted(boolean value) {
    return counted.getAndSet(value);
  }

  InetSocketAddress remoteSocketAddress() {
    return remote;
  }

  void rejected() {
    state = REJECTED;
  }

  /** The WebSocket is open: register with the hub and take the URL's subscriptions. */
  void open() {
    lastPongNanos = lastPingNanos = System.nanoTime();
    Session s;
    try {
      s = engine.transport.hub.register(this);
    } catch (IllegalStateException e) {
      ws.close(CloseFrame.GOING_AWAY, "server shutting down");
      return;
    }
    synchronized (this) { // against ended(): keeps the open count exact
      if (ended.get()) {
        s.close();
        return;
      }
      session = s;
      state = OPEN;
      engine.opened.increment();
      engine.openNow.incrementAndGet();
    }
    QueryParameters q = query;
    if (q != null) {
      for (String topic : q.topics) {
        s.subscribe(topic, q.since, q.epoch);
      }
    }
  }

  /** Whether this is a TLS connection with records its socket has not taken yet. */
  boolean tlsRecordsPending() {
    HookedChannel ch = channel;
    return ch instanceof HookedChannel.Tls && ((HookedChannel.Tls) ch).recordsPending();
  }

  void receive(String text) {
    Session s = session;
    if (state == OPEN && s != null) {
      s.receive(text);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Outbound

  @Override
  public void messagesAvailable() {
    if (pullQueued.getAndSet(true)) {
      return; // a pull is queued or running; it will see these messages
    }
    if (!ws.isOpen() || ws.isFlushAndClose()) {
      return;
    }
    engine.writer.schedule(this);
  }

  /**
   * Writer thread. If the socket layer holds nothing for this connection, drain the hub's queue and
   * write the batch straight to the socket (one system call; the selector is not involved);
   * whatever the socket does not take, and everything while bytes still wait, goes through
   * Java-WebSocket's queue and the selector, behind a {@link Frames#PULL} marker.
   */
  void writeDirect() {
    Session s = session;
    if (s == null) {
      pullQueued.set(false);
      return;
    }
    HookedChannel ch = channel;
    boolean viaSelector = false;
    boolean again = false;
    synchronized (ws) { // Java-WebSocket's close() holds it: no frame after a close frame
      if (!ws.isOpen() || ws.isFlushAndClose()) {
        return; // leave pullQueued set: nothing more will be written
      }
      if (!ws.outQueue.isEmpty() || ch.isTls()) {
        // Pull once what waits has been written. Over TLS always: records are made by the TLS
        // channel, which only the selector thread drives.
        ws.outQueue.add(Frames.PULL);
        viaSelector = true;
      } else {
        int n = s.drainTo(batch, WebSocketTransport.MAX_BATCH_BYTES);
        if (n > 0) {
          ByteBuffer buffer = Frames.concat(batch);
          batch.clear();
          engine.framesSent.add(n);
          engine.writes.increment();
          try {
            ch.writeNow(buffer);
          } catch (IOException e) {
            ws.closeConnection(CloseFrame.ABNORMAL_CLOSE, "write failed: " + e.getMessage());
            return;
          }
          if (buffer.hasRemaining()) {
            ws.outQueue.add(buffer); // the socket is full: the selector finishes it
            viaSelector = true;
          }
        }
        pullQueued.set(false);
        if (s.queuedMessages() > 0 && !pullQueued.getAndSet(true)) {
          if (viaSelector) {
            ws.outQueue.add(Frames.PULL);
          } else {
            again = true;
          }
        }
      }
    }
    if (again) {
      engine.writer.schedule(this);
    }
    if (viaSelector) {
      try {
        engine.onWriteDemand(ws);
        engine.writer.handedOff(this);
      } catch (ClosedSelectorException e) {
        // the transport is shutting down; the connection is dropped with it
      }
    }
  }

  /** Selector thread: everything queued before the marker is written; hand over the next batch. */
  void pull() {
    Session s = session;
    if (s == null) {
      pullQueued.set(false);
      return;
    }
    synchronized (ws) { // Java-WebSocket's close() holds it: no frame after a close frame
      if (!ws.isOpen() || ws.isFlushAndClose()) {
        return; // leave pullQueued set: nothing more will be written
      }
      int n = s.drainTo(batch, WebSocketTransport.MAX_BATCH_BYTES);
      if (n > 0) {
        ByteBuffer buffer = Frames.concat(batch);
        batch.clear();
        ws.outQueue.add(buffer);
        engine.framesSent.add(n);
        engine.writes.increment();
      }
      pullQueued.set(false);
      // Messages that came while draining, or past the batch limit, signalled no one: pull again
      // once this batch is written.
      if (s.queuedMessages() > 0 && !pullQueued.getAndSet(true)) {
        ws.outQueue.add(Frames.PULL);
      }
    }
  }

  /** Bytes queued in the socket layer and not yet written. */
  long bufferedBytes() {
    long n = 0;
    // Under the monitor that pull() holds to add a batch: without it, a pass over the queue could
    // count a batch's unwritten bytes and then the next batch, queued once that one was written.
    synchronized (ws) {
      for (ByteBuffer b : ws.outQueue) {
        n += b.remaining();
      }
    }
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Dead peers

  /** Worker thread: the client answered a ping. */
  void ponged() {
    lastPongNanos = System.nanoTime();
  }

  /**
   * Housekeeping thread, every tick while open: a WebSocket ping every {@code pingNanos}; a client
   * that sent no pong for {@code deadNanos} is dropped with a reset.
   */
  void keepAlive(long now, long pingNanos, long deadNanos) {
    if (now - lastPongNanos > deadNanos) {
      log.debug("Dropping {}: no pong for {} ms", this, (now - lastPongNanos) / 1_000_000);
      resetOnClose = true;
      ws.closeConnection(CloseFrame.ABNORMAL_CLOSE, "no pong in time");
      return;
    }
    if (now - lastPingNanos >= pingNanos) {
      lastPingNanos = now;
      synchronized (ws) { // the writer's direct writes hold it: the ping goes between frames
        if (ws.isOpen() && !ws.isFlushAndClose()) {
          ws.sendPing();
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  @Override
  public void close(CloseReason reason) {
    int code = CloseReason.GOING_AWAY.equals(reason.code()) ? CloseFrame.GOING_AWAY : 1008;
    String text = reason.code() + ": " + reason.message();
    if (CloseReason.SLOW_CONSUMER.equals(reason.code())) {
      closeSlowConsumer(code, text);
    } else {
      close(code, text);
    }
  }

  /**
   * A slow consumer must not read its backlog before the close, nor wait for it: what still waits
   * for it in Java-WebSocket's queue is dropped (but the rest of a frame the socket has partly
   * taken), so the close frame directly follows what the kernel's socket buffers hold. A client
   * that reads that within the close timeout gets the close frame and a FIN; at the timeout the
   * connection is reset, whatever is left: by the {@link Lingerer} once the close frame is written,
   * by the housekeeping drop if it never is.
   */
  private void closeSlowConsumer(int code, String reason) {
    HookedChannel ch = channel;
    synchronized (ws) { // as pull() and writeDirect(): no batch is added meanwhile
      slowConsumer = true;
      if (ch != null) {
        ch.dropUnsent(ws.outQueue);
      }
      close(code, reason);
    }
  }

  /** Whether the hub closed this connection as a slow consumer. */
  boolean slowConsumer() {
    return slowConsumer;
  }

  /** Starts the closing handshake; the housekeeping timer drops the socket past closeTimeout. */
  void close(int code, String reason) {
    markClosing();
    try {
      ws.close(code, Frames.truncateUtf8(reason, 123));
    } catch (ClosedSelectorException e) {
      ws.closeConnection(code, reason); // the transport is shutting down: just drop it
    }
  }

  /** Selector thread: the handshake passed {@link WebSocketTransport#MAX_HANDSHAKE_BYTES}. */
  void refusedLargeHandshake() {
    log.debug("Refused {}: handshake too large", this);
    rejected();
    engine.rejected.increment();
    markClosing();
    lingerOnClose = true; // the 431 response is written, then the socket lingers
  }

  /** Selector thread: Java-WebSocket wrote everything queued and now closes the socket. */
  void flushed() {
    lingerOnClose = true;
  }

  boolean lingerOnClose() {
    return lingerOnClose;
  }

  boolean resetOnClose() {
    return resetOnClose;
  }

  /** A lingering socket is closed at the latest {@code closeTimeout} after closing began. */
  long lingerDeadlineNanos() {
    long since = closingSinceNanos;
    return (since == 0 ? System.nanoTime() : since) + engine.transport.closeTimeout.toNanos();
  }

  void markClosing() {
    if (closingSinceNanos == 0) {
      closingSinceNanos = System.nanoTime() | 1;
    }
  }

  long closingSinceNanos() {
    return closingSinceNanos;
  }

  /** The socket is closed (any thread, once): release everything. */
  void ended() {
    if (ended.get()) {
      return;
    }
    Session s;
    synchronized (this) {
      if (!ended.compareAndSet(false, true)) {
        return;
      }
      if (state == OPEN) {
        engine.openNow.decrementAndGet();
      }
      state = ENDED;
      s = session;
    }
    engine.forget(this);
    if (s != null) {
      try {
        s.close();
      } catch (RuntimeException e) {
        log.warn("Closing the session of {} failed", id, e);
      }
    }
  }

  @Override
  public String toString() {
    return "WsConnection(" + id + ", " + remoteAddress() + ")";
  }

  /** What the URL asked for: {@code ?topic=a&topic=b}, and for one topic {@code since/epoch}. */
  static final class QueryParameters {
    final List<String> topics;
    final long since;
    final String epoch;

    QueryParameters(List<String> topics, long since, String epoch) {
      this.topics = List.copyOf(topics);
      this.since = since;
      this.epoch = epoch;
    }
  }
}
