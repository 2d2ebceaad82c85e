package io.watchcast.websocket;

import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.EncodedMessage;
import io.watchcast.Session;
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
 * queue becomes non-empty; that queues the {@link Frames#PULL} marker behind whatever the socket
 * layer still has to write and wakes the selector. When the selector reaches the marker, everything
 * before it has been written: {@link #pull()} then drains the session (up to {@link
 * WebSocketTransport#MAX_BATCH_BYTES}), concatenates the pre-built frames and queues them as one
 * buffer, so the socket layer holds at most one batch per connection and a backlog leaves in one
 * write.
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
  private final AtomicBoolean ended = new AtomicBoolean();

  // The outbound state: whether a PULL marker is queued or a pull is running.
  private final AtomicBoolean pullQueued = new AtomicBoolean();
  // Used by the selector thread only, under the ws monitor.
  private final List<EncodedMessage> batch = new ArrayList<>();

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
    ws.outQueue.add(Frames.PULL);
    try {
      engine.onWriteDemand(ws);
    } catch (ClosedSelectorException e) {
      // the transport is shutting down; the connection is dropped with it
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
    for (ByteBuffer b : ws.outQueue) {
      n += b.remaining();
    }
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  @Override
  public void close(CloseReason reason) {
    int code = CloseReason.GOING_AWAY.equals(reason.code()) ? CloseFrame.GOING_AWAY : 1008;
    close(code, reason.code() + ": " + reason.message());
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
