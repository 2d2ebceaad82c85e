package io.watchcast;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A registered {@link Connection} as the hub sees it: its outbound queue, its subscriptions and the
 * handling of its client messages. Returned by {@link ConnectionManager#register}; used by the
 * transport that owns the connection.
 *
 * <p>Thread-safe. {@link #receive(String)} may be called from the transport's I/O thread, {@link
 * #drainTo} from the thread that writes to the socket, and the hub enqueues from publisher threads
 * and its scheduler at the same time.
 *
 * <h2>The outbound queue</h2>
 *
 * Bounded by {@link Limits#maxQueuedBytes()} (default 1 MiB) of JSON per connection, and by {@link
 * Limits#maxHubQueuedBytes()} for all connections of the hub together. A message always enters an
 * empty queue, so an oversized message never closes a connection that keeps up. Past a bound:
 *
 * <ul>
 *   <li>A message of a {@code latest} topic replaces that topic's undelivered message in the queue,
 *       so such a topic holds at most one message per connection.
 *   <li><b>Lag.</b> A message of a topic that keeps a history ({@code none} or {@code batch}, with
 *       {@link TopicOptions#historySize()} above 0) is not copied into the queue of a connection
 *       that is still reading: that topic <em>lags</em> for the connection. The connection keeps a
 *       cursor, the last id of the topic it has queued, and skips the topic's live messages, which
 *       wait in the topic's history that holds them anyway. So the memory that slow readers take
 *       follows the history, not their number.
 *   <li><b>Catch-up.</b> When {@link #drainTo} leaves the queue at half its limit or less, it
 *       refills it from the history of each lagging topic, in turn: the messages after the cursor,
 *       in id order, up to the limit. A topic whose cursor reaches its last id takes live messages
 *       again, atomically under the topic's lock, so per topic nothing is lost or repeated. If the
 *       history no longer holds the message after the cursor (evicted by count or age), the
 *       connection gets {@code reset} with reason {@code overflow} and the snapshot, then live
 *       messages: the same as a resume that comes too late, never a silent gap. Messages of
 *       different topics may reach a lagging connection in another order than they were published;
 *       per topic the order is the ids'.
 *   <li><b>Stalled readers are closed.</b> A connection that has read nothing ({@link #drainTo}
 *       moved nothing) for {@link Limits#stallTimeout()} (default 1 s) while messages waited is
 *       closed as a slow consumer ({@link CloseReason#SLOW_CONSUMER}) at the next message that
 *       passes its limit or would go to one of its lagging topics. So a stalled reader holds at
 *       most its queue limit; the client can come back and resume from history. A stalled
 *       connection that no message reaches any more is not closed by the hub (the transport's
 *       heartbeat finds dead peers).
 *   <li>A message that cannot wait in a history (a topic without history) closes the connection as
 *       a slow consumer. Replies to the client's own actions ({@code subscribed}, {@code pong},
 *       {@code error}, snapshots, {@code reset}) and {@code latest} values may use one more {@link
 *       Limits#maxQueuedBytes()} while the connection keeps reading, so that a lagging reader is
 *       not closed by its own ping; past that they close it too.
 * </ul>
 *
 * Replayed history (a resume's, a catch-up's) is the history's own messages, shared, not copied: it
 * is bounded by the history and is not counted against either bound. {@link Limits#stallTimeout()}
 * of {@link java.time.Duration#ZERO} turns lagging off: any message past the limit that is not a
 * {@code latest} value closes the connection at once.
 *
 * <p>Threads: the catch-up runs inside {@link #drainTo}, on the transport's thread that drains (its
 * writer or selector thread), and takes each lagging topic's lock briefly, then this session's
 * monitor; no other code runs under them. Per topic, {@code drainTo} hands messages over in id
 * order whichever thread publishes.
 */
public final class Session {
  private static final Logger log = LoggerFactory.getLogger(Session.class);

  static final int NEEDS_SIGNAL = 1;
  static final int CLOSED = 2;

  private static final int WAKE = 1;
  private static final int CLOSE = 2;
  private static final VarHandle SIGNALS;

  static {
    try {
      SIGNALS = MethodHandles.lookup().findVarHandle(Session.class, "signals", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final ConnectionManager hub;
  private final Connection connection;
  private final Limits limits;

  // The outbound queue; guarded by this. Elements are EncodedMessage, Slot or Replay.
  private final ArrayDeque<Object> queue = new ArrayDeque<>();
  private Map<String, Slot> slots;
  private long queuedBytes;
  // Bytes of replayed history in the queue: shared with the history and bounded by it, so they
  // do not count against maxQueuedBytes (else a slow consumer could never resume).
  private long replayBytes;
  // Topics whose live messages wait in the topic's history, each with the last id queued here, in
  // the order they are refilled (round robin). Guarded by this; changed for a topic only while
  // that topic's lock is held too (or on close), which is what keeps a topic's ids exactly once.
  private LinkedHashMap<TopicState, Cursor> lagging;
  private volatile boolean lags; // lagging is not empty: read by drainTo without the monitor
  // When the queue last moved: drained something, or went from empty to non-empty. Guarded by this.
  private long progressNanos;
  private final long stallNanos;
  private volatile boolean closed;
  private CloseReason closeReason;

  // Work for the pass after locks are released; bits WAKE and CLOSE.
  @SuppressWarnings("unused")
  private volatile int signals;

  private volatile boolean detached;

  // Subscriptions; guarded by itself. Value bits: EXPLICIT, WILDCARD.
  private static final int EXPLICIT = 1;
  private static final int VIA_WILDCARD = 2;
  private final Map<TopicState, Integer> subscriptions = new HashMap<>();
  private int explicitCount;
  private boolean wildcard;

  // Client message rate; guarded by rateLock.
  private final Object rateLock = new Object();
  private double tokens;
  private long lastRefill;
  private int violations;

  Session(ConnectionManager hub, Connection connection) {
    this.hub = hub;
    this.connection = connection;
    this.limits = hub.limits;
    this.tokens = limits.burst();
    this.lastRefill = hub.clock.nanos();
    this.progressNanos = lastRefill;
    this.stallNanos = TopicState.saturatedNanos(limits.stallTimeout());
  }

  /** The connection this session serves. */
  public Connection connection() {
    return connection;
  }

  /** Whether the session is closed: by the transport, or by the hub (slow consumer, shutdown). */
  public boolean isClosed() {
    return closed;
  }

  /** Bytes of JSON waiting in the outbound queue. */
  public synchronized long queuedBytes() {
    return queuedBytes;
  }

  /** Messages waiting in the outbound queue. */
  public synchronized int queuedMessages() {
    return queue.size();
  }

  /** The number of explicit subscriptions ({@code *} counts as one). */
  public int subscriptionCount() {
    synchronized (subscriptions) {
      return explicitCount + (wildcard ? 1 : 0);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound

  /**
   * Moves waiting messages, oldest first, into {@code out}: at least one if any wait, then more
   * while their total stays within {@code maxBytes}. Returns how many were moved. Call it until it
   * returns 0 after {@link Connection#messagesAvailable()}; writing all of them in one go is what
   * makes a backlogged connection cheap.
   *
   * <p>When it leaves the queue at half its limit or less and topics lag, it refills the queue from
   * their history before it returns (on the calling thread; see the class comment), so it returns 0
   * only when nothing waits and nothing lags.
   */
  public int drainTo(Collection<? super EncodedMessage> out, int maxBytes) {
    long now = hub.clock.nanos();
    int count = moveTo(out, maxBytes, now);
    if (catchUp(now) && count == 0) {
      count = moveTo(out, maxBytes, now);
    }
    if (count > 0) {
      hub.delivered.add(count);
    }
    return count;
  }

  private int moveTo(Collection<? super EncodedMessage> out, int maxBytes, long now) {
    int count = 0;
    long bytes = 0;
    long replayed = 0;
    synchronized (this) {
      while (!queue.isEmpty()) {
        Object head = queue.peekFirst();
        EncodedMessage m =
            head instanceof Slot
                ? ((Slot) head).message
                : head instanceof Replay ? ((Replay) head).message : (EncodedMessage) head;
        if (count > 0 && bytes + m.size() > maxBytes) {
          break;
        }
        queue.pollFirst();
        if (head instanceof Slot) {
          slots.remove(m.topic(), head);
        } else if (head instanceof Replay) {
          replayed += m.size();
        }
        out.add(m);
        count++;
        bytes += m.size();
      }
      if (count > 0) {
        queuedBytes -= bytes;
        replayBytes -= replayed;
        hub.queuedBytes.add(replayed - bytes);
        progressNanos = now;
      }
    }
    return count;
  }

  /**
   * Refills the queue from the history of lagging topics, if it is at half its limit or less.
   * Returns whether anything was queued. Called with no lock held: takes each topic's lock, then
   * this monitor (the hub's lock order).
   */
  private boolean catchUp(long now) {
    if (!lags) {
      return false;
    }
    List<TopicState> topics;
    long before;
    synchronized (this) {
      if (closed
          || lagging == null
          || lagging.isEmpty()
          || queuedBytes > limits.maxQueuedBytes() / 2) {
        return false;
      }
      topics = new ArrayList<>(lagging.keySet());
      before = queue.size();
    }
    for (TopicState topic : topics) {
      topic.catchUp(this, now);
      synchronized (this) {
        if (closed || queuedBytes >= limits.maxQueuedBytes()) {
          break;
        }
      }
    }
    synchronized (this) {
      return queue.size() != before;
    }
  }

  /**
   * Enqueues a reply or control message of this connection's (not a topic's live message). Never
   * blocks, never calls out. Returns {@link #NEEDS_SIGNAL} when {@link #signal()} must run after
   * the caller's locks are released, and {@link #CLOSED} when the session is closed.
   */
  int offer(EncodedMessage m) {
    return enqueue(m, null, hub.clock.nanos());
  }

  /**
   * Enqueues a live message of {@code topic}, under its lock: skipped while the topic lags here,
   * and the start of a lag when it passes a limit (see the class comment). Returns as {@link
   * #offer}.
   */
  int offerLive(EncodedMessage m, TopicState topic, long now) {
    return enqueue(m, topic, now);
  }

  private synchronized int enqueue(EncodedMessage m, TopicState topic, long now) {
    if (closed) {
      return CLOSED;
    }
    if (topic != null && lagging != null && lagging.containsKey(topic)) {
      // It waits in the topic's history, after the cursor; the catch-up queues it.
      return stalled(now) ? closeSlow(stallMessage()) : 0;
    }
    if (m.conflatable()) {
      Slot slot = slots == null ? null : slots.get(m.topic());
      if (slot != null) {
        queuedBytes += m.size() - slot.message.size();
        hub.queuedBytes.add(m.size() - slot.message.size());
        slot.message = m;
        hub.conflated.increment();
        return 0;
      }
    } else if (slots != null && !slots.isEmpty()) {
      // A later conflatable message must queue behind this one, not replace an earlier one.
      slots.remove(m.topic());
    }
    long live = queuedBytes - replayBytes;
    String over = live > 0 ? overflow(live, m.size()) : null;
    if (over != null) {
      if (stalled(now)) {
        return closeSlow(stallMessage());
      }
      if (topic != null && !m.conflatable() && topic.keepsHistory()) {
        startLag(topic, m.id() - 1);
        return 0;
      }
      boolean reply = topic == null || m.conflatable();
      if (!reply || live + m.size() - limits.maxQueuedBytes() > limits.maxQueuedBytes()) {
        return closeSlow(over);
      }
      // A reply, snapshot or latest value of a connection that reads: within the reserve.
    }
    boolean wasEmpty = queue.isEmpty();
    if (wasEmpty) {
      progressNanos = now;
    }
    if (m.conflatable()) {
      Slot slot = new Slot(m);
      if (slots == null) {
        slots = new HashMap<>();
      }
      slots.put(m.topic(), slot);
      queue.addLast(slot);
    } else {
      queue.addLast(m);
    }
    queuedBytes += m.size();
    hub.queuedBytes.add(m.size());
    if (wasEmpty) {
      SIGNALS.getAndBitwiseOr(this, WAKE);
      return NEEDS_SIGNAL;
    }
    return 0;
  }

  /** Which bound a live message of {@code size} would pass, as a close message, or null. */
  private String overflow(long live, int size) {
    if (live + size > limits.maxQueuedBytes()) {
      return "outbound queue passed " + limits.maxQueuedBytes() + " bytes; resume to continue";
    }
    if (hub.queuedBytes.sum() + size > limits.maxHubQueuedBytes()) {
      return "the server's outbound queues passed "
          + limits.maxHubQueuedBytes()
          + " bytes; resume to continue";
    }
    return null;
  }

  /** Whether messages wait and nothing was read for the stall timeout. Hold this monitor. */
  private boolean stalled(long now) {
    return !queue.isEmpty() && now - progressNanos >= stallNanos;
  }

  private String stallMessage() {
    return "outbound queue passed "
        + limits.maxQueuedBytes()
        + " bytes and nothing was read for "
        + limits.stallTimeout().toMillis()
        + " ms; resume to continue";
  }

  /** Closes as a slow consumer; hold this monitor. Returns what {@link #offer} returns then. */
  private int closeSlow(String message) {
    hub.slowConsumersClosed.increment();
    log.info(
        "Closing slow consumer {} ({}): {} bytes queued, {}",
        connection.id(),
        connection.remoteAddress(),
        queuedBytes,
        message);
    closeLocked(new CloseReason(CloseReason.SLOW_CONSUMER, message));
    return NEEDS_SIGNAL | CLOSED;
  }

  /**
   * Enqueues a message replayed from history for a resume. It is not held to {@link
   * Limits#maxQueuedBytes()}: it is the history's own message (shared, not copied), and the
   * history's count and age bound it. Live messages that follow have the whole limit, so a client
   * closed as a slow consumer can come back and catch up. A {@code latest} topic's replay still
   * conflates to one message.
   */
  int offerReplay(EncodedMessage m) {
    if (m.conflatable()) {
      return offer(m);
    }
    long now = hub.clock.nanos();
    synchronized (this) {
      if (closed) {
        return CLOSED;
      }
      if (slots != null && !slots.isEmpty()) {
        slots.remove(m.topic());
      }
      boolean wasEmpty = queue.isEmpty();
      if (wasEmpty) {
        progressNanos = now;
      }
      addReplay(m);
      if (wasEmpty) {
        SIGNALS.getAndBitwiseOr(this, WAKE);
        return NEEDS_SIGNAL;
      }
      return 0;
    }
  }

  private void addReplay(EncodedMessage m) {
    queue.addLast(new Replay(m));
    queuedBytes += m.size();
    replayBytes += m.size();
  }

  // ---------------------------------------------------------------------------------------------
  // Lag (called by TopicState under its lock; this monitor nests inside)

  /** Hold this monitor and the topic's lock. */
  private void startLag(TopicState topic, long cursor) {
    if (lagging == null) {
      lagging = new LinkedHashMap<>();
    }
    if (lagging.isEmpty()) {
      hub.laggingConnections.increment();
      lags = true;
    }
    lagging.put(topic, new Cursor(cursor));
    hub.lagged.increment();
  }

  /** The last id of {@code topic} queued here while it lags, or -1 when it does not lag. */
  synchronized long lagCursor(TopicState topic) {
    Cursor c = lagging == null ? null : lagging.get(topic);
    return c == null ? -1 : c.id;
  }

  /** Stops a lag: the topic caught up, was reset, or the subscription ended. */
  synchronized void endLag(TopicState topic, boolean caughtUp) {
    if (lagging != null && lagging.remove(topic) != null) {
      if (caughtUp) {
        hub.caughtUp.increment();
      }
      if (lagging.isEmpty()) {
        hub.laggingConnections.decrement();
        lags = false;
      }
    }
  }

  /**
   * Queues the topic's history from {@code fromIndex} while the queue has room (at least one
   * message), moving the cursor; ends the lag when the cursor reaches {@code lastId}. The caller
   * holds the topic's lock, which guards {@code history}.
   */
  synchronized void catchUpFrom(
      TopicState topic, History history, int fromIndex, long lastId, long now) {
    Cursor c = lagging == null ? null : lagging.get(topic);
    if (closed || c == null) {
      return;
    }
    if (queue.isEmpty()) {
      progressNanos = now;
    }
    for (int i = fromIndex; i < history.size(); i++) {
      EncodedMessage m = history.get(i);
      if (!queue.isEmpty() && queuedBytes + m.size() > limits.maxQueuedBytes()) {
        break;
      }
      addReplay(m);
      c.id = m.id();
    }
    if (c.id >= lastId) {
      endLag(topic, true);
    } else {
      lagging.remove(topic); // to the back: the next refill starts with another topic
      lagging.put(topic, c);
    }
  }

  /**
   * The lagging topic's history no longer holds what this connection lacks: queues {@code reset}
   * and the snapshot, and ends the lag, so live messages follow the snapshot.
   */
  synchronized void lagReset(TopicState topic, EncodedMessage reset, EncodedMessage snapshot) {
    if (closed || lagging == null || !lagging.containsKey(topic)) {
      return;
    }
    addReplay(reset);
    if (snapshot != null) {
      addReplay(snapshot);
    }
    endLag(topic, false);
    hub.overflowResets.increment();
  }

  /** Must be called with this session's monitor held. */
  private void closeLocked(CloseReason reason) {
    closed = true;
    closeReason = reason;
    clearLocked();
    SIGNALS.getAndBitwiseOr(this, CLOSE);
  }

  /** Drops what waits, counting it as dropped. Hold this monitor. */
  private void clearLocked() {
    hub.dropped.add(queue.size());
    hub.queuedBytes.add(replayBytes - queuedBytes);
    queue.clear();
    slots = null;
    queuedBytes = 0;
    replayBytes = 0;
    if (lagging != null && !lagging.isEmpty()) {
      hub.laggingConnections.decrement();
    }
    lagging = null;
    lags = false;
  }

  /** Runs the work {@link #offer} left for after the locks: wake the transport, or close. */
  void signal() {
    int s = (int) SIGNALS.getAndSet(this, 0);
    if (s == 0) {
      return;
    }
    if ((s & CLOSE) != 0) {
      CloseReason reason;
      synchronized (this) {
        reason = closeReason;
      }
      try {
        connection.close(reason);
      } catch (RuntimeException e) {
        log.warn("Connection {} failed to close", connection.id(), e);
      }
      detach();
      return;
    }
    try {
      connection.messagesAvailable();
    } catch (RuntimeException e) {
      log.warn("Connection {} failed in messagesAvailable()", connection.id(), e);
    }
  }

  /**
   * Tells the hub the connection has ended. Undelivered messages are dropped and subscriptions
   * removed. Idempotent; call it from the transport when the client goes away.
   */
  public void close() {
    synchronized (this) {
      if (!closed) {
        closed = true;
        closeReason = new CloseReason("closed", "connection closed");
        clearLocked();
      }
    }
    detach();
  }

  /** Closes from the hub's side, telling the transport. */
  void closeWith(CloseReason reason) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closeLocked(reason);
    }
    signal();
  }

  private void detach() {
    if (detached) {
      return;
    }
    synchronized (subscriptions) {
      if (detached) {
        return;
      }
      detached = true;
    }
    hub.detach(this);
    List<TopicState> topics;
    synchronized (subscriptions) {
      topics = new ArrayList<>(subscriptions.keySet());
      subscriptions.clear();
      explicitCount = 0;
      wildcard = false;
    }
    for (TopicState t : topics) {
      t.detach(this);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Subscriptions (called by TopicState under its lock; the subscriptions monitor nests inside)

  /** Records a subscription; returns whether the session was already subscribed by any route. */
  boolean addSubscription(TopicState topic, boolean explicit) {
    synchronized (subscriptions) {
      Integer bits = subscriptions.get(topic);
      int add = explicit ? EXPLICIT : VIA_WILDCARD;
      if (explicit && (bits == null || (bits & EXPLICIT) == 0)) {
        explicitCount++;
      }
      subscriptions.put(topic, (bits == null ? 0 : bits) | add);
      return bits != null;
    }
  }

  /** Drops one route of a subscription; returns whether none is left. */
  boolean removeSubscription(TopicState topic, boolean explicit) {
    synchronized (subscriptions) {
      Integer bits = subscriptions.get(topic);
      if (bits == null) {
        return false;
      }
      int drop = explicit ? EXPLICIT : VIA_WILDCARD;
      if (explicit && (bits & EXPLICIT) != 0) {
        explicitCount--;
      }
      int left = bits & ~drop;
      if (left == 0) {
        subscriptions.remove(topic);
        return true;
      }
      subscriptions.put(topic, left);
      return false;
    }
  }

  boolean isSubscribedExplicitly(TopicState topic) {
    synchronized (subscriptions) {
      Integer bits = subscriptions.get(topic);
      return bits != null && (bits & EXPLICIT) != 0;
    }
  }

  /** Marks the wildcard subscription; returns whether it was already there. */
  boolean setWildcard(boolean on) {
    synchronized (subscriptions) {
      boolean was = wildcard;
      wildcard = on;
      return was;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Client messages

  /**
   * Handles one client message (a WebSocket text frame): parse, validate, act, reply. Bad input is
   * answered with an {@code error} message carrying an {@link ErrorCode}; it never throws. Call it
   * from the transport thread that read the message, one message at a time per connection.
   */
  public void receive(String text) {
    if (closed) {
      return;
    }
    if (!takeToken()) {
      return;
    }
    if (utf8Length(text, limits.maxMessageBytes()) > limits.maxMessageBytes()) {
      error(
          ErrorCode.MESSAGE_TOO_LARGE,
          null,
          "message is larger than " + limits.maxMessageBytes() + " bytes");
      return;
    }
    JsonNode node;
    try {
      node = hub.clientReader.readTree(text);
    } catch (JsonProcessingException e) {
      error(ErrorCode.INVALID_JSON, null, "not JSON: " + e.getOriginalMessage());
      return;
    }
    if (node == null || node.isMissingNode()) {
      error(ErrorCode.INVALID_JSON, null, "not JSON: the message is empty");
      return;
    }
    if (node == null || !node.isObject()) {
      error(ErrorCode.INVALID_MESSAGE, null, "a message must be a JSON object");
      return;
    }
    JsonNode action = node.get("action");
    if (action == null || !action.isTextual()) {
      error(ErrorCode.INVALID_MESSAGE, null, "'action' must be a string");
      return;
    }
    switch (action.asText()) {
      case "subscribe":
        onSubscribe(node);
        break;
      case "unsubscribe":
        onUnsubscribe(node);
        break;
      case "ping":
        reply(control("pong", Topics.SYSTEM, "{}"));
        break;
      default:
        error(
            ErrorCode.UNKNOWN_ACTION,
            null,
            "unknown action '"
                + truncate(action.asText())
                + "'; expected subscribe, unsubscribe or ping");
    }
  }

  private void onSubscribe(JsonNode node) {
    String topic = topicOf(node);
    if (topic == null) {
      return;
    }
    long since = -1;
    JsonNode sinceNode = node.get("since");
    if (sinceNode != null && !sinceNode.isNull()) {
      if (!sinceNode.canConvertToExactIntegral() || !sinceNode.canConvertToLong()) {
        error(ErrorCode.INVALID_MESSAGE, topic, "'since' must be a whole number");
        return;
      }
      since = sinceNode.asLong();
      if (since < 0) {
        error(ErrorCode.INVALID_MESSAGE, topic, "'since' must not be negative");
        return;
      }
    }
    String epoch = null;
    JsonNode epochNode = node.get("epoch");
    if (epochNode != null && !epochNode.isNull()) {
      if (!epochNode.isTextual()) {
        error(ErrorCode.INVALID_MESSAGE, topic, "'epoch' must be a string");
        return;
      }
      epoch = epochNode.asText();
    }
    subscribe(topic, since, epoch);
  }

  /**
   * Subscribes this connection to {@code topic} as if the client had sent the subscribe action:
   * validation, authorization, limits, replies and errors included. For transports that take
   * subscriptions from a URL ({@code ?topic=}) or a header ({@code Last-Event-ID}).
   *
   * @param since the last id the client holds, or -1 for none
   * @param epoch the epoch that id belongs to, or null
   */
  public void subscribe(String topic, long since, String epoch) {
    if (closed) {
      return;
    }
    boolean isWildcard = Topics.WILDCARD.equals(topic);
    String problem = isWildcard ? null : Topics.problem(topic);
    if (problem != null) {
      error(ErrorCode.INVALID_TOPIC, null, problem);
      return;
    }
    if (!hub.authorize(connection, topic)) {
      error(ErrorCode.FORBIDDEN, topic, "not allowed to subscribe to '" + topic + "'");
      return;
    }
    if (isWildcard) {
      synchronized (subscriptions) {
        if (!wildcard && subscriptionCount() >= limits.maxSubscriptions()) {
          problem = "at most " + limits.maxSubscriptions() + " subscriptions per connection";
        }
      }
      if (problem != null) {
        error(ErrorCode.TOO_MANY_SUBSCRIPTIONS, topic, problem);
        return;
      }
      hub.subscribeWildcard(this);
      return;
    }
    // Checked before the topic is created, so that a refused subscribe leaves nothing behind.
    TopicState existing = hub.topicState(topic, false, true);
    if ((existing == null || !isSubscribedExplicitly(existing))
        && subscriptionCount() >= limits.maxSubscriptions()) {
      error(
          ErrorCode.TOO_MANY_SUBSCRIPTIONS,
          topic,
          "at most " + limits.maxSubscriptions() + " subscriptions per connection");
      return;
    }
    while (true) {
      TopicState state = hub.topicState(topic, true, true);
      if (state == null) {
        error(
            ErrorCode.TOO_MANY_TOPICS,
            topic,
            "the server already has " + limits.maxTopics() + " topics");
        return;
      }
      hub.beforeSubscribe(state, since, epoch);
      if (state.subscribe(this, true, since, epoch)) {
        return;
      }
      hub.forget(state); // retired as we looked it up; look again
    }
  }

  private void onUnsubscribe(JsonNode node) {
    String topic = topicOf(node);
    if (topic == null) {
      return;
    }
    unsubscribe(topic);
  }

  /** Unsubscribes as if the client had sent the unsubscribe action. */
  public void unsubscribe(String topic) {
    if (Topics.WILDCARD.equals(topic)) {
      hub.unsubscribeWildcard(this);
      return;
    }
    String problem = Topics.problem(topic);
    if (problem != null) {
      error(ErrorCode.INVALID_TOPIC, null, problem);
      return;
    }
    TopicState state = hub.topicState(topic, false, false);
    if (state == null) {
      reply(control("unsubscribed", topic, "{}"));
      return;
    }
    state.unsubscribe(this, true);
  }

  /** The topic field, or null after replying with the error. */
  private String topicOf(JsonNode node) {
    JsonNode topic = node.get("topic");
    if (topic == null || topic.isNull()) {
      error(ErrorCode.MISSING_TOPIC, null, "'topic' is required");
      return null;
    }
    if (!topic.isTextual()) {
      error(ErrorCode.INVALID_TOPIC, null, "'topic' must be a string");
      return null;
    }
    return topic.asText();
  }

  private boolean takeToken() {
    synchronized (rateLock) {
      long now = hub.clock.nanos();
      tokens =
          Math.min(
              limits.burst(),
              tokens + (now - lastRefill) * (double) limits.messagesPerSecond() / 1e9);
      lastRefill = now;
      if (tokens >= 1) {
        tokens -= 1;
        violations = 0;
        return true;
      }
      violations++;
    }
    if (violations > limits.burst()) {
      log.info("Closing {}: kept sending past its rate limit", connection.id());
      closeWith(
          new CloseReason(
              CloseReason.RATE_LIMITED,
              "more than " + limits.messagesPerSecond() + " messages per second"));
      return false;
    }
    error(
        ErrorCode.RATE_LIMITED,
        null,
        "more than " + limits.messagesPerSecond() + " messages per second; message ignored");
    return false;
  }

  /** Replies an {@code error}; {@code topic} is the topic it concerns, or null for system. */
  void error(ErrorCode code, String topic, String message) {
    hub.clientErrors.increment();
    ObjectNode data = hub.mapper.createObjectNode();
    data.put("code", code.code());
    data.put("message", message);
    byte[] bytes;
    try {
      bytes = hub.mapper.writeValueAsBytes(data);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    reply(
        Envelopes.encode(
            "error",
            topic == null ? Topics.SYSTEM : topic,
            bytes,
            hub.clock.millis(),
            0,
            null,
            false));
  }

  private EncodedMessage control(String type, String topic, String json) {
    return Envelopes.encode(
        type, topic, json.getBytes(StandardCharsets.US_ASCII), hub.clock.millis(), 0, null, false);
  }

  void replyControl(String type, String topic, String json) {
    reply(control(type, topic, json));
  }

  /**
   * Queues a control reply without signalling; the caller calls {@link #signal()} after its locks.
   */
  void queueControl(String type, String topic, String json) {
    offer(control(type, topic, json));
  }

  private void reply(EncodedMessage m) {
    offer(m);
    signal();
  }

  /** UTF-8 length of {@code s}, counting only until it passes {@code limit}. */
  static long utf8Length(String s, int limit) {
    if ((long) s.length() * 3 <= limit) {
      return s.length(); // cannot pass the limit; exact value not needed
    }
    long n = 0;
    for (int i = 0; i < s.length() && n <= limit; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  private static String truncate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }

  @Override
  public String toString() {
    return "Session(" + connection.id() + ")";
  }

  /** A message replayed from history, exempt from the byte limit (see {@link #offerReplay}). */
  private static final class Replay {
    final EncodedMessage message;

    Replay(EncodedMessage message) {
      this.message = message;
    }
  }

  /** A lagging topic's cursor: the last id of it queued here. */
  private static final class Cursor {
    long id;

    Cursor(long id) {
      this.id = id;
    }
  }

  /** A {@code latest} topic's place in the queue, whose message a newer one replaces. */
  private static final class Slot {
    EncodedMessage message;

    Slot(EncodedMessage message) {
      this.message = message;
    }
  }
}
