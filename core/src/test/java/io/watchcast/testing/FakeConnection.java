package io.watchcast.testing;

import io.watchcast.Clock;
import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.Envelope;
import io.watchcast.Session;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A hand-written connection for tests. By default it drains its session as soon as the hub says
 * messages are available, on the thread that says so (a client that keeps up); {@link
 * #drainOn(Executor)} moves the draining to another thread, like a transport's writer thread;
 * {@link #stall()} makes it stop reading, like a client whose socket is full. Received messages go
 * to a recorder queue: {@link #next()} waits up to a deadline, {@link #assertExhausted()} checks
 * nothing else arrived. Failure switches: {@link #failMessagesAvailable(boolean)}, {@link
 * #failClose(boolean)}. Thread-safe.
 *
 * <p>Draining is serialized on this object, so messages reach the recorder in queue order even when
 * several threads drain at once (a real transport has one writer per connection).
 */
public final class FakeConnection implements Connection {
  private static final AtomicInteger IDS = new AtomicInteger();

  /** A message as it reached this connection, with the time it arrived on {@link #clock}. */
  public record Arrival(EncodedMessage message, long nanos) {
    public Envelope envelope() {
      return Envelope.parse(message.jsonString());
    }
  }

  private final String id = "fake-" + IDS.incrementAndGet();
  private final BlockingQueue<EncodedMessage> received = new LinkedBlockingQueue<>();
  private final ConcurrentLinkedQueue<Arrival> arrivals = new ConcurrentLinkedQueue<>();
  private final AtomicReference<CloseReason> closed = new AtomicReference<>();
  private final CountDownLatch closedLatch = new CountDownLatch(1);
  private final AtomicInteger closeCalls = new AtomicInteger();
  private final AtomicInteger wakeups = new AtomicInteger();
  private volatile boolean stalled;
  private volatile boolean failMessagesAvailable;
  private volatile boolean failClose;
  private volatile Object principal;
  private volatile Session session;
  private volatile Executor drainer;
  private volatile Clock clock;

  /** Registers a new connection with {@code hub} and attaches the session. */
  public static FakeConnection connect(ConnectionManager hub) {
    FakeConnection c = new FakeConnection();
    return c.attach(hub.register(c));
  }

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

  /** Drains on {@code executor} instead of the thread that calls {@link #messagesAvailable()}. */
  public FakeConnection drainOn(Executor executor) {
    this.drainer = executor;
    return this;
  }

  /** Stamps every arrival with {@code clock}'s nanos (see {@link #arrivals()}). */
  public FakeConnection clock(Clock clock) {
    this.clock = clock;
    return this;
  }

  /** When on, {@link #messagesAvailable()} throws, like a broken transport. */
  public FakeConnection failMessagesAvailable(boolean on) {
    this.failMessagesAvailable = on;
    return this;
  }

  /** When on, {@link #close(CloseReason)} records the call, then throws. */
  public FakeConnection failClose(boolean on) {
    this.failClose = on;
    return this;
  }

  /** Sends one client text message, as a transport does when a frame arrives. */
  public void send(String text) {
    session.receive(text);
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
  public synchronized void drain() {
    Session s = session;
    if (s == null) {
      return;
    }
    List<EncodedMessage> out = new ArrayList<>();
    while (s.drainTo(out, 64 * 1024) > 0) {
      Clock c = clock;
      if (c != null) {
        long now = c.nanos();
        for (EncodedMessage m : out) {
          arrivals.add(new Arrival(m, now));
        }
      }
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
    if (failMessagesAvailable) {
      throw new IllegalStateException("failure switch: messagesAvailable() of " + id);
    }
    if (stalled) {
      return;
    }
    Executor e = drainer;
    if (e == null) {
      drain();
    } else {
      e.execute(this::drain);
    }
  }

  @Override
  public void close(CloseReason reason) {
    closeCalls.incrementAndGet();
    if (closed.compareAndSet(null, reason)) {
      closedLatch.countDown();
    }
    if (failClose) {
      throw new IllegalStateException("failure switch: close() of " + id);
    }
  }

  public int wakeups() {
    return wakeups.get();
  }

  /** The first reason the hub closed this connection with, or null. */
  public CloseReason closeReason() {
    return closed.get();
  }

  /** How many times the hub called {@link #close(CloseReason)}. */
  public int closeCalls() {
    return closeCalls.get();
  }

  /** Waits up to 5 seconds for the hub to close this connection and returns the reason. */
  public CloseReason awaitClose() {
    try {
      if (!closedLatch.await(5, TimeUnit.SECONDS)) {
        throw new AssertionError(id + " was not closed within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    return closed.get();
  }

  /** The next message, waiting up to 5 seconds. */
  public Envelope next() {
    return next(Duration.ofSeconds(5));
  }

  public Envelope next(Duration timeout) {
    return Envelope.parse(nextRaw(timeout).jsonString());
  }

  /** The next message as the hub handed it over, waiting up to {@code timeout}. */
  public EncodedMessage nextRaw(Duration timeout) {
    try {
      EncodedMessage m = received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError(id + ": no message within " + timeout);
      }
      return m;
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

  /**
   * Every message that arrived since {@link #clock(Clock)} was set, in order, with its arrival
   * time; not consumed by {@link #next()}.
   */
  public List<Arrival> arrivals() {
    return new ArrayList<>(arrivals);
  }

  /** The number of messages waiting in the recorder. */
  public int receivedCount() {
    return received.size();
  }

  public void assertExhausted() {
    EncodedMessage m = received.poll();
    if (m != null) {
      throw new AssertionError(id + ": unexpected message: " + m.jsonString());
    }
  }

  @Override
  public String toString() {
    return id;
  }
}
