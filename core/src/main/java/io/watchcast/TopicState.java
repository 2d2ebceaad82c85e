package io.watchcast;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One topic: its sequence, history, snapshot, throttle state and subscribers.
 *
 * <p>Thread-safe. One lock per topic orders everything that touches the stream: assigning ids,
 * appending history, enqueueing to subscribers, subscribing with resume. Holding it while
 * enqueueing is what makes per-topic order the same for every connection and makes a resume have no
 * gap and no duplicate. Nothing under it calls user or transport code: enqueueing only touches our
 * own queues, and connections are signalled afterwards by {@link #afterFanout}. A connection that
 * lags on the topic (see {@link Session}) is refilled from its history by {@link #catchUp} under
 * the same lock, which is what makes its return to live messages exact.
 *
 * <p>With a {@link ClusterBus}, emit() does not assign ids: it queues the message for the cluster,
 * appended after the lock is released ({@link #appendQueued}), and the cluster's messages come back
 * through {@link #applyFromCluster} and {@link #adopt}, on the hub's cluster thread, which fan out
 * under the lock exactly as a local emit does.
 */
final class TopicState {
  private static final Session[] NO_SESSIONS = new Session[0];

  final String name;
  volatile TopicOptions options; // replaced only while a placeholder (see redeclare)
  // Assigned by the cluster when the hub has a ClusterBus: written under lock, read anywhere.
  private volatile String epoch;
  private final ConnectionManager hub;
  private long windowNanos;

  private final ReentrantLock lock = new ReentrantLock();
  private volatile Session[] subscribers = NO_SESSIONS;
  private volatile long lastId;
  private History history;

  // Created by a client's subscribe, not declared, never published: retired when no connection
  // holds it by name. Guarded by lock; removed is read without it to retry fast.
  private boolean placeholder;
  private volatile boolean removed;
  private EncodedMessage latest;
  private byte[] latestData;
  private EncodedMessage snapshot;

  // Throttle state, guarded by lock.
  private boolean windowOpen;
  private long windowEnd;
  private boolean flushScheduled;
  private long scheduleDelay = -1;
  private String pendingType;
  private byte[] pendingData;
  private long pendingTimestamp;
  private final List<byte[]> batch = new ArrayList<>();
  private int batchBytes;

  // With a ClusterBus: what emit() hands to the cluster, appended in emit order after the topic
  // lock is released, under appendLock (never the topic lock) while the bus is called.
  private final ClusterSync cluster;
  private final ConcurrentLinkedQueue<Outgoing> outbox;
  private final ReentrantLock appendLock;
  private Outgoing queued; // the last message queued by the current publish; guarded by lock
  private volatile boolean synced; // read from the cluster at least once

  static final int RETIRED = 0;
  static final int APPLIED = 1;
  static final int FAILED = 2;
  static final int DUPLICATE = 3;
  static final int GAP = 4;

  /** A message on its way to the cluster. */
  private static final class Outgoing {
    final String type;
    final byte[] data;
    final long timestamp;
    volatile boolean ok;

    Outgoing(String type, byte[] data, long timestamp) {
      this.type = type;
      this.data = data;
      this.timestamp = timestamp;
    }
  }

  TopicState(ConnectionManager hub, String name, TopicOptions options, boolean placeholder) {
    this.hub = hub;
    this.name = name;
    this.options = options;
    this.placeholder = placeholder;
    this.epoch = newEpoch();
    this.windowNanos = options.throttle().window().toNanos();
    this.history = new History(options.historySize(), saturatedNanos(options.historyAge()));
    this.cluster = hub.cluster;
    this.outbox = cluster == null ? null : new ConcurrentLinkedQueue<>();
    this.appendLock = cluster == null ? null : new ReentrantLock();
  }

  /** A duration in nanoseconds; one too long for a long (about 292 years) means forever. */
  static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  static String newEpoch() {
    long bits = ThreadLocalRandom.current().nextLong() & 0xFF_FFFF_FFFFL;
    return Long.toString(bits | 0x10_0000_0000L, 36);
  }

  long lastId() {
    return lastId;
  }

  String epoch() {
    return epoch;
  }

  boolean isSynced() {
    return synced;
  }

  int subscriberCount() {
    return subscribers.length;
  }

  boolean hasSnapshot() {
    return lastId > 0;
  }

  /**
   * Publishes already-serialized data through the topic's throttle. Returns {@link #RETIRED},
   * having done nothing, when this state was retired (look the topic up again); {@link #FAILED}
   * when the cluster did not take the message; else {@link #APPLIED}.
   */
  int publish(String type, byte[] data, long timestamp) {
    long delay = -1;
    boolean pass;
    Session[] notify;
    Outgoing mine;
    lock.lock();
    try {
      if (removed) {
        return RETIRED;
      }
      if (placeholder) {
        placeholder = false; // published: a real topic from now on
        hub.placeholders.decrementAndGet();
      }
      // Read before emitting: emit() prunes a session it closes as a slow consumer, and that
      // session still needs its signal so that the transport hears of the close.
      notify = subscribers;
      queued = null;
      pass = publishLocked(type, data, timestamp);
      mine = queued;
      queued = null;
      delay = takeScheduleRequest();
    } finally {
      lock.unlock();
    }
    runScheduling(delay);
    if (pass) {
      afterFanout(notify);
    }
    if (mine != null) {
      appendQueued();
      return mine.ok ? APPLIED : FAILED;
    }
    return APPLIED;
  }

  /**
   * Hands what emit() queued to the cluster, in emit order. Called with no topic lock held; the
   * caller's own message is appended when this returns (by this thread or the one before it).
   */
  private void appendQueued() {
    appendLock.lock();
    try {
      Outgoing o;
      while ((o = outbox.poll()) != null) {
        o.ok = cluster.append(this, o.type, o.data, o.timestamp);
      }
    } finally {
      appendLock.unlock();
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

  /** Asks for a flush at the window's end; {@link #runScheduling} makes the call, unlocked. */
  private void scheduleFlush(long now) {
    if (flushScheduled) {
      return;
    }
    flushScheduled = true;
    scheduleDelay = windowOpen ? Math.max(0, windowEnd - now) : 0;
  }

  /** Takes the flush request made under the lock, or -1. Call with the lock held. */
  private long takeScheduleRequest() {
    long delay = scheduleDelay;
    scheduleDelay = -1;
    return delay;
  }

  /** Hands a flush to the scheduler (user code, so never under our lock). */
  private void runScheduling(long delay) {
    if (delay < 0 || hub.schedule(this::flush, delay)) {
      return;
    }
    lock.lock();
    try {
      flushScheduled = false; // the next publish asks again
    } finally {
      lock.unlock();
    }
  }

  /** The end of a throttle window: emit what waits. Runs on the scheduler. */
  void flush() {
    boolean pass = false;
    Session[] notify;
    lock.lock();
    try {
      notify = subscribers; // before emit() may prune a session it closes
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
    if (cluster != null) {
      appendQueued();
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
    out[0] = '[';
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
    if (cluster != null) {
      // The cluster assigns the id; every node, this one included, fans out when it applies it.
      queued = new Outgoing(type, data, timestamp);
      outbox.add(queued);
      return false;
    }
    return fanout(type, data, timestamp, lastId + 1);
  }

  /** Records a message with its id and enqueues it to every subscriber. Call with the lock held. */
  private boolean fanout(String type, byte[] data, long timestamp, long id) {
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
      int result = s.offerLive(message, this, now);
      pass |= (result & Session.NEEDS_SIGNAL) != 0;
      closed += (result & Session.CLOSED) != 0 ? 1 : 0;
    }
    if (closed > 0) {
      pruneClosed();
    }
    return pass;
  }

  /**
   * Applies one message of the cluster: fans it out when it is the next one of this topic's epoch.
   * Returns {@link #APPLIED}, {@link #DUPLICATE} (already held), {@link #GAP} (a message is missing
   * or the epoch differs: read the cluster's log and {@link #adopt} it) or {@link #RETIRED}.
   */
  int applyFromCluster(ClusterBus.Message m) {
    Session[] notify;
    boolean pass;
    lock.lock();
    try {
      if (removed) {
        return RETIRED;
      }
      if (!m.epoch().equals(epoch) || m.id() > lastId + 1) {
        return GAP;
      }
      if (m.id() <= lastId) {
        return DUPLICATE;
      }
      becomeReal();
      notify = subscribers;
      pass = fanout(m.type(), m.data(), m.timestamp(), m.id());
      synced = true;
    } finally {
      lock.unlock();
    }
    if (pass) {
      afterFanout(notify);
    }
    return APPLIED;
  }

  /**
   * Brings this topic up to the cluster's log: applies what it lacks when the log still holds it;
   * otherwise (the epoch changed, or the cluster trimmed what this node missed) takes the cluster's
   * epoch, id, history and snapshot, and sends every subscriber {@code reset} and the snapshot, so
   * that no client is left with a silent gap. A log the cluster does not know keeps the local
   * state.
   */
  void adopt(ClusterBus.Log log) {
    Session[] notify;
    boolean pass = false;
    lock.lock();
    try {
      if (removed) {
        return;
      }
      synced = true;
      if (log.epoch() == null) {
        return;
      }
      notify = subscribers;
      List<ClusterBus.Message> messages = log.messages();
      String reason = null;
      if (lastId == 0 && (messages.isEmpty() || messages.get(0).id() == 1)) {
        // Nothing was ever emitted here, so no subscriber holds a resume point: take the
        // cluster's epoch and deliver what it has, from its first message, as live messages.
        epoch = log.epoch();
      }
      if (log.epoch().equals(epoch)) {
        if (log.lastId() <= lastId) {
          return;
        }
        if (!messages.isEmpty() && messages.get(0).id() <= lastId + 1) {
          becomeReal();
          for (ClusterBus.Message m : messages) {
            if (m.id() == lastId + 1) {
              pass |= fanout(m.type(), m.data(), m.timestamp(), m.id());
            }
          }
        } else {
          reason = "history_gap";
        }
      } else {
        reason = "epoch_changed";
      }
      if (reason != null) {
        pass = resetLocked(log, reason);
      }
    } finally {
      lock.unlock();
    }
    if (pass) {
      afterFanout(notify);
    }
  }

  /**
   * Takes the cluster's state in place of this node's, and tells every subscriber ({@code reset},
   * then the snapshot). Returns whether a subscriber needs a signal. Call with the lock held.
   */
  private boolean resetLocked(ClusterBus.Log log, String reason) {
    Session[] notify = subscribers;
    List<ClusterBus.Message> messages = log.messages();
    boolean pass = false;
    {
      becomeReal();
      epoch = log.epoch();
      lastId = log.lastId();
      history = new History(options.historySize(), saturatedNanos(options.historyAge()));
      latest = null;
      latestData = null;
      snapshot = null;
      long now = hub.clock.nanos();
      boolean conflatable = options.throttle().mode() == Throttle.Mode.LATEST;
      for (ClusterBus.Message m : messages) {
        EncodedMessage e =
            Envelopes.encode(m.type(), name, m.data(), m.timestamp(), m.id(), epoch, conflatable);
        history.add(e, now);
        latest = e;
        latestData = m.data();
      }
      history.prune(now);
      if (notify.length > 0) {
        EncodedMessage reset = resetMessage(reason);
        EncodedMessage snap = snapshotLocked();
        int closed = 0;
        for (Session s : notify) {
          s.endLag(this, false); // its cursor was in the old stream; the snapshot replaces it
          int result = s.offer(reset);
          if (snap != null && (result & Session.CLOSED) == 0) {
            result |= s.offer(snap);
          }
          closed += (result & Session.CLOSED) != 0 ? 1 : 0;
        }
        if (closed > 0) {
          pruneClosed();
        }
        pass = true;
      }
    }
    return pass;
  }

  /** A placeholder that the cluster has messages for is a real topic. Call with the lock held. */
  private void becomeReal() {
    if (placeholder) {
      placeholder = false;
      hub.placeholders.decrementAndGet();
    }
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
  boolean subscribe(Session session, boolean explicit, long since, String clientEpoch) {
    lock.lock();
    try {
      if (removed) {
        return false; // retired: the caller looks the topic up again
      }
      boolean already = session.addSubscription(this, explicit);
      if (explicit) {
        session.offer(control("subscribed", "{\"epoch\":\"" + epoch + "\",\"id\":" + lastId + "}"));
      }
      // Already subscribed (by name or through '*'): the reply above is all; no early return, the
      // reply still needs the signal below.
      if (!already) {
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
      }
    } finally {
      lock.unlock();
    }
    session.signal();
    return true;
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
          session.offerReplay(m);
        }
      }
      return;
    }
    session.offer(resetMessage(reason));
    EncodedMessage snap = snapshotLocked();
    if (snap != null) {
      session.offer(snap);
    }
  }

  /** {@code reset} to the topic's current epoch and last id, for {@code reason}. */
  private EncodedMessage resetMessage(String reason) {
    return control(
        "reset",
        "{\"epoch\":\"" + epoch + "\",\"id\":" + lastId + ",\"reason\":\"" + reason + "\"}");
  }

  /** Whether live messages can wait in this topic's history for a connection that lags. */
  boolean keepsHistory() {
    return options.historySize() > 0;
  }

  /**
   * Refills a lagging session's queue from history: the messages after its cursor, as much as its
   * queue takes; or, when history no longer holds the next one, {@code reset} (reason {@code
   * overflow}) and the snapshot. A session whose cursor reaches the last id takes live messages
   * again from the next one on: both happen under this lock, so no message is lost or repeated.
   * Called by {@link Session#drainTo} on the transport's thread, with no lock held.
   */
  void catchUp(Session session, long now) {
    lock.lock();
    try {
      long cursor = session.lagCursor(this);
      if (cursor < 0) {
        return;
      }
      if (removed || cursor >= lastId) {
        session.endLag(this, !removed);
        return;
      }
      history.prune(now);
      long first = history.firstId();
      if (first < 0 || first > cursor + 1) {
        session.lagReset(this, resetMessage("overflow"), snapshotLocked());
        return;
      }
      session.catchUpFrom(this, history, (int) (cursor + 1 - first), lastId, now);
    } finally {
      lock.unlock();
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
    boolean retired;
    lock.lock();
    try {
      if (session.removeSubscription(this, explicit)) {
        remove(session);
        session.endLag(this, false);
      }
      if (explicit) {
        session.offer(control("unsubscribed", "{}"));
      }
      retired = retireIfUnheldLocked();
    } finally {
      lock.unlock();
    }
    session.signal();
    if (retired) {
      hub.forget(this);
    }
  }

  /** Drops every subscriber at once; for the hub's close. */
  void clearSubscribers() {
    lock.lock();
    try {
      subscribers = NO_SESSIONS;
    } finally {
      lock.unlock();
    }
  }

  /** Removes a closed session. */
  void detach(Session session) {
    boolean retired;
    lock.lock();
    try {
      remove(session);
      retired = retireIfUnheldLocked();
    } finally {
      lock.unlock();
    }
    if (retired) {
      hub.forget(this);
    }
  }

  /**
   * Retires a placeholder that no connection holds by name any more (connections that hold it only
   * through {@code *} do not keep it). Returns whether it did; the caller then calls {@link
   * ConnectionManager#forget} with no lock held.
   */
  private boolean retireIfUnheldLocked() {
    if (!placeholder || removed) {
      return false;
    }
    for (Session s : subscribers) {
      if (s.isSubscribedExplicitly(this)) {
        return false;
      }
    }
    for (Session s : subscribers) {
      s.removeSubscription(this, false);
    }
    subscribers = NO_SESSIONS;
    removed = true;
    placeholder = false;
    hub.placeholders.decrementAndGet();
    return true;
  }

  boolean isRemoved() {
    return removed;
  }

  /**
   * Gives a placeholder the options an application declares for it. Returns false if this is no
   * longer a placeholder (it was published or retired), so the options cannot change.
   */
  boolean redeclare(TopicOptions declared) {
    lock.lock();
    try {
      if (!placeholder || removed || lastId > 0) {
        return false;
      }
      options = declared;
      windowNanos = declared.throttle().window().toNanos();
      history = new History(declared.historySize(), saturatedNanos(declared.historyAge()));
      placeholder = false;
      hub.placeholders.decrementAndGet();
      return true;
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
