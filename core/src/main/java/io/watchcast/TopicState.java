package io.watchcast;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One topic: its sequence, history, snapshot, throttle state and subscribers.
 *
 * <p>Thread-safe. One lock per topic orders everything that touches the stream: assigning ids,
 * appending history, enqueueing to subscribers, subscribing with resume. Holding it while
 * enqueueing is what makes per-topic order the same for every connection and makes a resume have no
 * gap and no duplicate. Nothing under it calls user or transport code: enqueueing only touches our
 * own queues, and connections are signalled afterwards by {@link #afterFanout}.
 */
final class TopicState {
  private static final Session[] NO_SESSIONS = new Session[0];
  private static final byte[] OPEN = {'['};

  final String name;
  final TopicOptions options;
  final String epoch;
  private final ConnectionManager hub;
  private final long windowNanos;

  private final ReentrantLock lock = new ReentrantLock();
  private volatile Session[] subscribers = NO_SESSIONS;
  private volatile long lastId;
  private final History history;
  private EncodedMessage latest;
  private byte[] latestData;
  private EncodedMessage snapshot;

  // Throttle state, guarded by lock.
  private boolean windowOpen;
  private long windowEnd;
  private boolean flushScheduled;
  private String pendingType;
  private byte[] pendingData;
  private long pendingTimestamp;
  private final List<byte[]> batch = new ArrayList<>();
  private int batchBytes;

  TopicState(ConnectionManager hub, String name, TopicOptions options) {
    this.hub = hub;
    this.name = name;
    this.options = options;
    this.epoch = newEpoch();
    this.windowNanos = options.throttle().window().toNanos();
    this.history = new History(options.historySize(), options.historyAge().toNanos());
  }

  static String newEpoch() {
    long bits = ThreadLocalRandom.current().nextLong() & 0xFF_FFFF_FFFFL;
    return Long.toString(bits | 0x10_0000_0000L, 36);
  }

  long lastId() {
    return lastId;
  }

  int subscriberCount() {
    return subscribers.length;
  }

  boolean hasSnapshot() {
    return lastId > 0;
  }

  /** Publishes already-serialized data through the topic's throttle. */
  void publish(String type, byte[] data, long timestamp) {
    boolean pass;
    Session[] notify;
    lock.lock();
    try {
      // Read before the fan-out: it prunes sessions it closed, and those must be signalled too.
      notify = subscribers;
      pass = publishLocked(type, data, timestamp);
    } finally {
      lock.unlock();
    }
    if (pass) {
      afterFanout(notify);
    }
  }

  private boolean publishLocked(String type, byte[] data, long timestamp) {
    Throttle throttle = options.throttle();
    switch (throttle.mode()) {
      case NONE:
        return emit(type, data, timestamp);
      case LATEST:
        {
          long now = hub.clock.nanos();
          if (pendingData == null && windowExpired(now)) {
            openWindow(now);
            return emit(type, data, timestamp);
          }
          if (pendingData != null) {
            hub.conflated.increment();
          }
          pendingType = type;
          pendingData = data;
          pendingTimestamp = timestamp;
          scheduleFlush(now);
          return false;
        }
      case BATCH:
        {
          long now = hub.clock.nanos();
          if (batch.isEmpty() && windowExpired(now)) {
            openWindow(now);
            return emit(type, list(List.of(data), data.length), timestamp);
          }
          boolean pass = false;
          if (!batch.isEmpty() && !type.equals(pendingType)) {
            // Every batch holds one type: flush what waits before a publish of another type.
            pass = emitBatch();
          }
          if (batch.isEmpty()) {
            pendingType = type;
            pendingTimestamp = timestamp;
          }
          batch.add(data);
          batchBytes += data.length;
          if (batch.size() >= throttle.maxBatch()) {
            pass |= emitBatch();
            openWindow(now);
          } else {
            scheduleFlush(now);
          }
          return pass;
        }
      default:
        throw new AssertionError(throttle.mode());
    }
  }

  private boolean windowExpired(long now) {
    return !windowOpen || now - windowEnd >= 0;
  }

  private void openWindow(long now) {
    windowOpen = true;
    windowEnd = now + windowNanos;
  }

  private void scheduleFlush(long now) {
    if (flushScheduled) {
      return;
    }
    flushScheduled = true;
    long delay = windowOpen ? Math.max(0, windowEnd - now) : 0;
    hub.schedule(this::flush, delay);
  }

  /** The end of a throttle window: emit what waits. Runs on the scheduler. */
  void flush() {
    boolean pass = false;
    Session[] notify;
    lock.lock();
    try {
      notify = subscribers; // before the fan-out prunes the sessions it closes
      flushScheduled = false;
      long now = hub.clock.nanos();
      if (pendingData != null) {
        byte[] data = pendingData;
        pendingData = null;
        openWindow(now);
        pass = emit(pendingType, data, pendingTimestamp);
      } else if (!batch.isEmpty()) {
        pass = emitBatch();
        openWindow(now);
      }
    } finally {
      lock.unlock();
    }
    if (pass) {
      afterFanout(notify);
    }
  }

  private boolean emitBatch() {
    byte[] data = list(batch, batchBytes);
    batch.clear();
    batchBytes = 0;
    return emit(pendingType, data, pendingTimestamp);
  }

  /** Joins JSON values into one JSON array without re-serializing them. */
  private static byte[] list(List<byte[]> items, int itemBytes) {
    byte[] out = new byte[itemBytes + Math.max(1, items.size()) + 1];
    out[0] = OPEN[0];
    int p = 1;
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) {
        out[p++] = ',';
      }
      byte[] item = items.get(i);
      System.arraycopy(item, 0, out, p, item.length);
      p += item.length;
    }
    out[p++] = ']';
    return p == out.length ? out : Arrays.copyOf(out, p);
  }

  /**
   * Gives the message its id, records it, and enqueues it to every subscriber. Returns whether any
   * subscriber needs a signal after the lock is released.
   */
  private boolean emit(String type, byte[] data, long timestamp) {
    long id = lastId + 1;
    EncodedMessage message =
        Envelopes.encode(
            type,
            name,
            data,
            timestamp,
            id,
            epoch,
            options.throttle().mode() == Throttle.Mode.LATEST);
    lastId = id;
    long now = hub.clock.nanos();
    history.add(message, now);
    history.prune(now);
    latest = message;
    latestData = data;
    snapshot = null;
    hub.emitted.increment();

    boolean pass = false;
    int closed = 0;
    for (Session s : subscribers) {
      int result = s.offer(message);
      pass |= (result & Session.NEEDS_SIGNAL) != 0;
      closed += (result & Session.CLOSED) != 0 ? 1 : 0;
    }
    if (closed > 0) {
      pruneClosed();
    }
    return pass;
  }

  /** Signals the connections whose queues changed state; runs with no lock held. */
  static void afterFanout(Session[] sessions) {
    for (Session s : sessions) {
      s.signal();
    }
  }

  private void pruneClosed() {
    Session[] current = subscribers;
    subscribers = Arrays.stream(current).filter(s -> !s.isClosed()).toArray(Session[]::new);
  }

  /** The latest message as a {@code snapshot}, encoded once per emitted message. */
  EncodedMessage snapshotMessage() {
    lock.lock();
    try {
      return snapshotLocked();
    } finally {
      lock.unlock();
    }
  }

  private EncodedMessage snapshotLocked() {
    if (latest == null) {
      return null;
    }
    if (snapshot == null) {
      snapshot =
          Envelopes.encode(
              "snapshot", name, latestData, latest.timestamp(), latest.id(), epoch, false);
    }
    return snapshot;
  }

  /**
   * Subscribes {@code session}: for an explicit subscription replies {@code subscribed}, then
   * replays from {@code since} or sends {@code reset} and the snapshot, or just the snapshot, all
   * under the lock so that live messages follow with no gap and no duplicate.
   *
   * @param since the last id the client holds, or -1 for none
   */
  void subscribe(Session session, boolean explicit, long since, String clientEpoch) {
    lock.lock();
    try {
      boolean already = session.addSubscription(this, explicit);
      if (explicit) {
        session.offer(control("subscribed", "{\"epoch\":\"" + epoch + "\",\"id\":" + lastId + "}"));
      }
      if (already) {
        return;
      }
      if (since >= 0) {
        resumeLocked(session, since, clientEpoch);
      } else {
        EncodedMessage snap = snapshotLocked();
        if (snap != null) {
          session.offer(snap);
        }
      }
      Session[] current = subscribers;
      Session[] next = Arrays.copyOf(current, current.length + 1);
      next[current.length] = session;
      subscribers = next;
    } finally {
      lock.unlock();
    }
    session.signal();
  }

  private void resumeLocked(Session session, long since, String clientEpoch) {
    history.prune(hub.clock.nanos());
    String reason = null;
    if (!epoch.equals(clientEpoch)) {
      reason = clientEpoch == null ? "no_epoch" : "epoch_changed";
    } else if (since > lastId) {
      reason = "ahead";
    } else if (since < lastId) {
      long first = history.firstId();
      if (first < 0 || first > since + 1) {
        reason = "history_gap";
      }
    }
    if (reason == null) {
      for (int i = 0; i < history.size(); i++) {
        EncodedMessage m = history.get(i);
        if (m.id() > since) {
          session.offer(m);
        }
      }
      return;
    }
    session.offer(
        control(
            "reset",
            "{\"epoch\":\"" + epoch + "\",\"id\":" + lastId + ",\"reason\":\"" + reason + "\"}"));
    EncodedMessage snap = snapshotLocked();
    if (snap != null) {
      session.offer(snap);
    }
  }

  /** Joins a topic that is being created and is not yet visible to other threads. */
  void joinAtCreation(Session session) {
    if (!session.addSubscription(this, false)) {
      Session[] current = subscribers;
      Session[] next = Arrays.copyOf(current, current.length + 1);
      next[current.length] = session;
      subscribers = next;
    }
  }

  /**
   * Removes an explicit ({@code explicit}) or wildcard subscription; the session stays subscribed
   * while it has the other kind.
   */
  void unsubscribe(Session session, boolean explicit) {
    lock.lock();
    try {
      if (session.removeSubscription(this, explicit)) {
        remove(session);
      }
      if (explicit) {
        session.offer(control("unsubscribed", "{}"));
      }
    } finally {
      lock.unlock();
    }
    session.signal();
  }

  /** Removes a closed session. */
  void detach(Session session) {
    lock.lock();
    try {
      remove(session);
    } finally {
      lock.unlock();
    }
  }

  private void remove(Session session) {
    Session[] current = subscribers;
    for (int i = 0; i < current.length; i++) {
      if (current[i] == session) {
        Session[] next = new Session[current.length - 1];
        System.arraycopy(current, 0, next, 0, i);
        System.arraycopy(current, i + 1, next, i, current.length - i - 1);
        subscribers = next;
        return;
      }
    }
  }

  private EncodedMessage control(String type, String json) {
    return Envelopes.encode(
        type, name, json.getBytes(StandardCharsets.US_ASCII), hub.clock.millis(), 0, null, false);
  }
}
