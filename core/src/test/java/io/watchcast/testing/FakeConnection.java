package io.watchcast.testing;

import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.EncodedMessage;
import io.watchcast.Envelope;
import io.watchcast.Session;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A hand-written connection for tests. By default it drains its session as soon as the hub says
 * messages are available (a client that keeps up); {@link #stall()} makes it stop reading, like a
 * client whose socket is full. Received messages go to a recorder queue: {@link #next()} waits up
 * to a deadline, {@link #assertExhausted()} checks nothing else arrived. Thread-safe.
 */
public final class FakeConnection implements Connection {
  private static final AtomicInteger IDS = new AtomicInteger();

  private final String id = "fake-" + IDS.incrementAndGet();
  private final BlockingQueue<EncodedMessage> received = new LinkedBlockingQueue<>();
  private final AtomicReference<CloseReason> closed = new AtomicReference<>();
  private final AtomicInteger wakeups = new AtomicInteger();
  private volatile boolean stalled;
  private volatile Object principal;
  private volatile Session session;

  /** Attaches the session the hub returned for this connection. */
  public FakeConnection attach(Session session) {
    this.session = session;
    return this;
  }

  public Session session() {
    return session;
  }

  public FakeConnection principal(Object principal) {
    this.principal = principal;
    return this;
  }

  /** Stops draining, like a client that stopped reading. */
  public void stall() {
    stalled = true;
  }

  /** Starts draining again and drains what waits. */
  public void resume() {
    stalled = false;
    drain();
  }

  /** Drains everything waiting into the recorder. */
  public void drain() {
    Session s = session;
    if (s == null) {
      return;
    }
    List<EncodedMessage> out = new ArrayList<>();
    while (s.drainTo(out, 64 * 1024) > 0) {
      received.addAll(out);
      out.clear();
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public Optional<Object> principal() {
    return Optional.ofNullable(principal);
  }

  @Override
  public void messagesAvailable() {
    wakeups.incrementAndGet();
    if (!stalled) {
      drain();
    }
  }

  @Override
  public void close(CloseReason reason) {
    closed.compareAndSet(null, reason);
  }

  public int wakeups() {
    return wakeups.get();
  }

  public CloseReason closeReason() {
    return closed.get();
  }

  /** The next message, waiting up to 5 seconds. */
  public Envelope next() {
    return next(Duration.ofSeconds(5));
  }

  public Envelope next(Duration timeout) {
    try {
      EncodedMessage m = received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError("no message within " + timeout);
      }
      return Envelope.parse(m.jsonString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Every message received so far, removed from the recorder. */
  public List<Envelope> takeAll() {
    List<EncodedMessage> out = new ArrayList<>();
    received.drainTo(out);
    List<Envelope> envelopes = new ArrayList<>();
    for (EncodedMessage m : out) {
      envelopes.add(Envelope.parse(m.jsonString()));
    }
    return envelopes;
  }

  /** The raw messages received so far, removed from the recorder. */
  public List<EncodedMessage> takeAllRaw() {
    List<EncodedMessage> out = new ArrayList<>();
    received.drainTo(out);
    return out;
  }

  public void assertExhausted() {
    EncodedMessage m = received.poll();
    if (m != null) {
      throw new AssertionError("unexpected message: " + m.jsonString());
    }
  }

  @Override
  public String toString() {
    return id;
  }
}
