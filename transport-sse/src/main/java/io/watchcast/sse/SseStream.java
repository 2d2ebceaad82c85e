package io.watchcast.sse;

import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.EncodedMessage;
import io.watchcast.Session;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.NetworkChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IteratingCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One SSE stream on Jetty: a {@link Connection} of the hub whose writes are Jetty's non-blocking
 * {@link Response#write(boolean, ByteBuffer, Callback)}.
 *
 * <p>No thread belongs to a stream. The hub's {@link #messagesAvailable()} queues the stream on the
 * {@link WriteDispatcher}, whose worker drains the session and starts one write of everything
 * drained, and the next drain happens only when that write has completed ({@link
 * IteratingCallback}). So the bytes waiting for a slow client stay in the hub's bounded outbox,
 * where the slow-consumer policy applies, and a stalled client holds no thread: the handler's
 * sweeper aborts it after the write timeout.
 *
 * <p>Thread-safe: the hub calls in from any thread; process() runs one at a time.
 */
final class SseStream extends IteratingCallback implements Connection {
  private static final Logger log = LoggerFactory.getLogger(SseStream.class);
  private static final AtomicLong IDS = new AtomicLong();

  private final String id = "sse-" + IDS.incrementAndGet();
  private final WatchcastHandler owner;
  private final Response response;
  private final Callback callback;
  private final WriteDispatcher dispatcher;
  private final String remoteAddress;
  private final Optional<Object> principal;
  private final StreamEncoder encoder;
  private final int maxBatchBytes;

  /** The connection's socket when the stream is all of it (HTTP/1.1); null for an HTTP/2 stream. */
  private final NetworkChannel tcp;

  private volatile Session session;
  private volatile boolean started;
  private final AtomicBoolean dispatched = new AtomicBoolean();
  private final AtomicBoolean finished = new AtomicBoolean();
  private volatile CloseReason closeReason;
  private volatile boolean pingDue;

  /** System.nanoTime() when the pending write started, or 0 when none is pending. */
  volatile long writeStarted;

  /** System.nanoTime() of the last completed write. */
  volatile long lastWrite = System.nanoTime();

  // Owned by process().
  private byte[] prefix;
  private List<EncodedMessage> initial;
  private final ArrayList<EncodedMessage> batch = new ArrayList<>();
  private boolean ended;

  SseStream(
      WatchcastHandler owner,
      Response response,
      Callback callback,
      WriteDispatcher dispatcher,
      String remoteAddress,
      Optional<Object> principal,
      ResumeVector vector,
      int maxBatchBytes,
      NetworkChannel tcp) {
    this.owner = owner;
    this.tcp = tcp;
    this.response = response;
    this.callback = callback;
    this.dispatcher = dispatcher;
    this.remoteAddress = remoteAddress;
    this.principal = principal;
    this.encoder = new StreamEncoder(vector);
    this.maxBatchBytes = maxBatchBytes;
  }

  void attach(Session session) {
    this.session = session;
  }

  /** Starts writing: {@code prefix} and {@code initial} messages go first, in one write. */
  void begin(byte[] prefix, List<EncodedMessage> initial) {
    this.prefix = prefix;
    this.initial = initial;
    this.started = true;
    iterate();
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String remoteAddress() {
    return remoteAddress;
  }

  @Override
  public Optional<Object> principal() {
    return principal;
  }

  @Override
  public void messagesAvailable() {
    wake();
  }

  /** Schedules a pass of process() on Jetty's executor; never runs it on the caller's thread. */
  void wake() {
    if (!started || finished.get()) {
      return;
    }
    if (dispatched.compareAndSet(false, true)) {
      try {
        dispatcher.dispatch(this);
      } catch (RuntimeException e) {
        dispatched.set(false);
        terminate(e);
      }
    }
  }

  /** One write pass, on a dispatcher worker. */
  void runPass() {
    dispatched.set(false);
    try {
      iterate();
    } catch (RuntimeException e) {
      terminate(e);
    }
  }

  /** Called by the hub (slow consumer, shutdown) or the transport: end the stream. */
  @Override
  public void close(CloseReason reason) {
    if (closeReason == null) {
      closeReason = reason;
    }
    if (writeStarted != 0 || !CloseReason.GOING_AWAY.equals(reason.code())) {
      // A slow consumer (or a write pending: a client not reading) cannot take a goodbye; abort.
      // The client reconnects and resumes from history.
      terminate(new IOException("stream closed: " + reason.code()));
    } else {
      wake();
    }
  }

  /** Heartbeat and write timeout, from the handler's sweeper. */
  void tick(long now, long heartbeatNanos, long writeTimeoutNanos) {
    long started = writeStarted;
    if (started != 0) {
      if (now - started > writeTimeoutNanos) {
        log.info(
            "Aborting SSE stream {} ({}): a write made no progress for {} ms",
            id,
            remoteAddress,
            writeTimeoutNanos / 1_000_000);
        terminate(new TimeoutException("write made no progress within the write timeout"));
      }
    } else if (now - lastWrite >= heartbeatNanos) {
      pingDue = true;
      wake();
    }
  }

  @Override
  protected Action process() {
    if (finished.get()) {
      return Action.SUCCEEDED;
    }
    CloseReason reason = closeReason;
    if (reason != null) {
      if (!ended) {
        ended = true;
        writeStarted = System.nanoTime();
        response.write(
            true,
            ByteBuffer.wrap(SseFrames.comment("closed " + reason.code() + ": " + reason.message())),
            this);
        return Action.SCHEDULED;
      }
      return Action.SUCCEEDED;
    }
    batch.clear();
    if (initial != null) {
      batch.addAll(initial);
      initial = null;
    } else {
      session.drainTo(batch, maxBatchBytes);
    }
    ByteBuffer bytes;
    if (batch.isEmpty()) {
      if (prefix != null) {
        bytes = ByteBuffer.wrap(prefix);
        prefix = null;
      } else if (pingDue) {
        pingDue = false;
        bytes = ByteBuffer.wrap(SseFrames.PING).asReadOnlyBuffer();
      } else {
        return Action.IDLE;
      }
    } else {
      bytes = encoder.encodeBuffer(prefix, batch);
      prefix = null;
      batch.clear();
      pingDue = false;
    }
    writeStarted = System.nanoTime();
    response.write(false, bytes, this);
    return Action.SCHEDULED;
  }

  @Override
  protected void onSuccess() {
    lastWrite = System.nanoTime();
    writeStarted = 0;
  }

  @Override
  protected void onCompleteSuccess() {
    finish(null);
  }

  @Override
  protected void onCompleteFailure(Throwable cause) {
    finish(cause);
  }

  /**
   * Aborts the stream at once: the connection (HTTP/1.1) or the stream (HTTP/2) is reset. An
   * HTTP/1.1 connection is closed with a TCP reset, not a FIN: a FIN would wait behind everything
   * the kernel still holds for the client (what made it slow), and the client would read that stale
   * backlog before it learns to reconnect. With the reset the kernel drops it, and the client
   * resumes at once from the last event it read.
   */
  void terminate(Throwable cause) {
    if (tcp != null) {
      try {
        tcp.setOption(StandardSocketOptions.SO_LINGER, 0);
      } catch (IOException | RuntimeException e) {
        // already closed
      }
    }
    abort(cause);
    finish(cause);
  }

  private void finish(Throwable failure) {
    if (!finished.compareAndSet(false, true)) {
      return;
    }
    writeStarted = 0;
    Session s = session;
    if (s != null) {
      s.close();
    }
    owner.removed(this);
    if (failure == null) {
      callback.succeeded();
    } else {
      if (log.isDebugEnabled()) {
        log.debug("SSE stream {} ended: {}", id, failure.toString());
      }
      callback.failed(failure);
    }
  }

  /**
   * Ends a stream that was refused before it began, without completing Jetty's callback (the caller
   * answers with an error). Returns false if the stream had already finished (and completed the
   * callback itself).
   */
  boolean discard() {
    if (!finished.compareAndSet(false, true)) {
      return false;
    }
    Session s = session;
    if (s != null) {
      s.close();
    }
    owner.removed(this);
    return true;
  }

  boolean isFinished() {
    return finished.get();
  }

  @Override
  public String toString() {
    return id + "(" + remoteAddress + ")";
  }
}
