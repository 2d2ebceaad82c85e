package io.watchcast.sse;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * After an error answer to an HTTP/1.1 request whose body the handler did not read (a refused or
 * oversized publish): reads and discards the rest of the body, then completes the request.
 *
 * <p>Without it, the connection is closed with the body's bytes unread, the kernel answers them
 * with a reset, and a client that sends its whole body before it reads (Java's {@code
 * HttpURLConnection}, many scripts) fails with "broken pipe" or "connection reset" and never sees
 * the status and the JSON error. The answer says {@code Connection: close}, and Jetty ends it with
 * a FIN at once, so the client can read all of it while the rest of its body is discarded; a
 * well-behaved client stops sending when it reads it. At most {@link #MAX_BYTES} are discarded, for
 * at most {@link #MAX_MILLIS}; past either bound the request completes anyway, and the connection
 * is closed as before.
 *
 * <p>Thread-safe: Jetty's demand callbacks and the scheduler's timer may race; the first to finish
 * wins.
 */
final class UnreadBodyDrain implements Callback, Runnable {
  /** The most bytes of a refused body that are read and discarded. */
  static final long MAX_BYTES = 4L << 20;

  /** The longest time spent discarding a refused body. */
  static final long MAX_MILLIS = 5_000;

  private final Request request;
  private final Callback completion;
  private final AtomicBoolean done = new AtomicBoolean();
  private long discarded;
  private volatile Scheduler.Task timer;

  private UnreadBodyDrain(Request request, Callback completion) {
    this.request = request;
    this.completion = completion;
  }

  /** A callback for the answer's write: once it succeeds, drain the body, then {@code callback}. */
  static Callback afterAnswer(Request request, Callback callback) {
    return new UnreadBodyDrain(request, callback);
  }

  /** The answer was written: start discarding. */
  @Override
  public void succeeded() {
    Scheduler scheduler = request.getComponents().getScheduler();
    timer = scheduler.schedule(this::finish, MAX_MILLIS, TimeUnit.MILLISECONDS);
    run();
  }

  @Override
  public void failed(Throwable x) {
    if (done.compareAndSet(false, true)) {
      completion.failed(x);
    }
  }

  /** Reads and discards what is available; demands more, or finishes at the end or a bound. */
  @Override
  public void run() {
    while (!done.get()) {
      Content.Chunk chunk = request.read();
      if (chunk == null) {
        request.demand(this);
        return;
      }
      if (Content.Chunk.isFailure(chunk)) {
        finish();
        return;
      }
      discarded += chunk.remaining();
      boolean last = chunk.isLast();
      chunk.release();
      if (last || discarded > MAX_BYTES) {
        finish();
        return;
      }
    }
  }

  private void finish() {
    if (done.compareAndSet(false, true)) {
      Scheduler.Task t = timer;
      if (t != null) {
        t.cancel();
      }
      completion.succeeded();
    }
  }

  @Override
  public InvocationType getInvocationType() {
    return InvocationType.NON_BLOCKING;
  }
}
