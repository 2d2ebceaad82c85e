package io.watchcast;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hub: connections, topic subscriptions, publish and fan-out. One per application (not a
 * singleton: two may live in one JVM). Thread-safe; every method may be called from any thread.
 *
 * <pre>{@code
 * ConnectionManager hub = ConnectionManager.builder()
 *     .topic("stats", TopicOptions.of(Throttle.latest(Duration.ofMillis(250))))
 *     .topic("logs", TopicOptions.of(Throttle.batch(Duration.ofMillis(100), 500)))
 *     .build();
 * hub.publish("stats", Map.of("cpu", 45.2));
 * }</pre>
 *
 * <p>A publish is serialized once, on the caller's thread, and the same bytes are enqueued to every
 * subscriber; a slow subscriber never blocks {@link #publish} (see {@link Session} for the queue's
 * limits and what happens at them: conflation, lag and catch-up from history, close). Per topic,
 * every connection receives messages in the order their ids were assigned, with no duplicate and no
 * silent loss: a connection that lags past a topic's history gets {@code reset} and the snapshot.
 *
 * <p>Threads: the hub starts one daemon scheduler thread, on first need, to end throttle windows
 * (unless a {@link Scheduler} is given). {@link Authorizer} runs on the transport thread that
 * received a subscribe; {@link Connection} callbacks run on publisher threads, the scheduler, or
 * transport threads. None of them is called while a hub lock is held. With a {@link ClusterBus}
 * ({@link Builder#clusterBus}), the hub also runs one daemon thread, {@code watchcast-cluster},
 * that applies the cluster's messages, and publishes wait for the cluster (see docs/CLUSTER.md).
 */
public final class ConnectionManager implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConnectionManager.class);

  final Clock clock;
  final Limits limits;
  final ObjectMapper mapper;

  /** Reads client messages: one JSON value per message, nothing after it. */
  final ObjectReader clientReader;

  private final Authorizer authorizer;
  private final TopicOptions defaultTopicOptions;
  private final Map<String, TopicOptions> declared;
  private final Scheduler givenScheduler;
  private volatile ScheduledExecutorService ownedExecutor;
  private volatile Scheduler scheduler;

  private final ConcurrentHashMap<String, TopicState> topics = new ConcurrentHashMap<>();
  private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
  private final Set<Session> wildcard = ConcurrentHashMap.newKeySet();
  final java.util.concurrent.atomic.AtomicInteger placeholders =
      new java.util.concurrent.atomic.AtomicInteger();
  // Orders topic creation against (un)subscribing '*', so that a topic created while a session
  // joins or leaves '*' is seen by exactly one of the two sides. Taken only on those rare paths.
  private final Object topicCreation = new Object();
  private volatile boolean closed;

  /** The hub's side of its {@link ClusterBus}, or null for a hub on its own. */
  final ClusterSync cluster;

  final LongAdder published = new LongAdder();
  final LongAdder emitted = new LongAdder();
  final LongAdder delivered = new LongAdder();
  final LongAdder dropped = new LongAdder();
  final LongAdder conflated = new LongAdder();
  final LongAdder slowConsumersClosed = new LongAdder();
  final LongAdder publishFailures = new LongAdder();
  final LongAdder clientErrors = new LongAdder();
  // Live bytes in every session's queue (Limits.maxHubQueuedBytes), and connections lagging now.
  final LongAdder queuedBytes = new LongAdder();
  final LongAdder laggingConnections = new LongAdder();
  final LongAdder lagged = new LongAdder();
  final LongAdder caughtUp = new LongAdder();
  final LongAdder overflowResets = new LongAdder();

  private ConnectionManager(Builder b) {
    this.clock = b.clock;
    this.limits = b.limits;
    this.mapper = b.mapper;
    // Our own reader, not the application's mapper: its settings must not change the protocol.
    this.clientReader =
        new ObjectMapper().reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    this.authorizer = b.authorizer;
    this.defaultTopicOptions = b.defaultTopicOptions;
    this.declared = new ConcurrentHashMap<>(b.topics);
    this.givenScheduler = b.scheduler;
    this.scheduler = b.scheduler;
    this.cluster = b.clusterBus == null ? null : new ClusterSync(this, b.clusterBus);
    for (Map.Entry<String, TopicOptions> e : b.topics.entrySet()) {
      topics.put(e.getKey(), new TopicState(this, e.getKey(), e.getValue(), false));
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  /**
   * Registers a transport's connection. The returned session is how the transport hands over client
   * messages ({@link Session#receive}), pulls outbound messages ({@link Session#drainTo}) and
   * reports the end of the connection ({@link Session#close()}).
   *
   * @throws IllegalStateException if the hub is closed
   */
  public Session register(Connection connection) {
    Objects.requireNonNull(connection, "connection");
    if (closed) {
      throw new IllegalStateException("hub is closed");
    }
    Session session = new Session(this, connection);
    sessions.add(session);
    if (closed) { // lost a race with close(): undo
      session.closeWith(CloseReason.goingAway());
      throw new IllegalStateException("hub is closed");
    }
    return session;
  }

  void detach(Session session) {
    sessions.remove(session);
    wildcard.remove(session);
  }

  // ---------------------------------------------------------------------------------------------
  // Publishing

  /**
   * Publishes {@code data} on {@code topic} as an {@code update}. See {@link #publish(String,
   * String, Object)}.
   */
  public boolean publish(String topic, Object data) {
    return publish(topic, "update", data);
  }

  /**
   * Publishes {@code data} on {@code topic} with the envelope type {@code type}, through the
   * topic's throttle. The data is serialized now, on this thread, with the hub's ObjectMapper (or
   * taken as-is when it is {@link RawJson}), so later changes to the object are not seen.
   *
   * <p>Never throws for a failure of delivery or serialization: it returns false, counts it in
   * {@link HubStats#publishFailures()} and logs it. Misuse (a bad topic or type) throws.
   *
   * @param type {@code update} or an application's own type; same syntax as a topic name, and not
   *     one of the protocol's control types
   * @return whether the message was accepted
   * @throws IllegalArgumentException if {@code topic} or {@code type} is not valid
   */
  public boolean publish(String topic, String type, Object data) {
    Topics.requireValid(topic);
    requireType(type);
    if (closed) {
      publishFailures.increment();
      log.warn("Publish on '{}' after the hub was closed; dropped", topic);
      return false;
    }
    byte[] bytes;
    try {
      bytes = data instanceof RawJson ? ((RawJson) data).utf8() : mapper.writeValueAsBytes(data);
    } catch (Exception e) {
      publishFailures.increment();
      log.warn("Publish on '{}' failed: the data could not be serialized", topic, e);
      return false;
    }
    try {
      while (true) {
        TopicState state = topicState(topic, true, false);
        if (state == null) {
          publishFailures.increment();
          log.warn(
              "Publish on '{}' refused: the hub already has {} topics", topic, limits.maxTopics());
          return false;
        }
        int result = state.publish(type, bytes, clock.millis());
        if (result == TopicState.FAILED) {
          return false; // counted and logged by the cluster
        }
        if (result != TopicState.RETIRED) {
          break;
        }
        forget(state); // retired by its last subscriber as we looked it up; look again
      }
    } catch (RuntimeException e) {
      publishFailures.increment();
      log.error("Publish on '{}' failed", topic, e);
      return false;
    }
    published.increment();
    return true;
  }

  private static final Set<String> CONTROL_TYPES =
      Set.of("snapshot", "subscribed", "unsubscribed", "pong", "error", "reset");

  private static void requireType(String type) {
    Objects.requireNonNull(type, "type");
    if (type.isEmpty() || type.length() > 64) {
      throw new IllegalArgumentException("type must be 1 to 64 characters");
    }
    for (int i = 0; i < type.length(); i++) {
      if (!Topics.isNameChar(type.charAt(i))) {
        throw new IllegalArgumentException("type may contain only A-Z a-z 0-9 . _ : -");
      }
    }
    if (CONTROL_TYPES.contains(type)) {
      throw new IllegalArgumentException("'" + type + "' is a control type of the protocol");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Topics

  /**
   * Declares {@code topic} with {@code options}, creating it if needed. Declare topics before
   * publishing on them; a topic that exists with other options cannot be changed.
   *
   * @throws IllegalStateException if the topic exists with different options
   */
  public void declareTopic(String topic, TopicOptions options) {
    Topics.requireValid(topic);
    Objects.requireNonNull(options, "options");
    TopicOptions previous = declared.putIfAbsent(topic, options);
    if (previous != null && !previous.equals(options)) {
      throw new IllegalStateException("topic '" + topic + "' is already declared with " + previous);
    }
    TopicState state = createTopic(topic, false, false);
    while (!state.options.equals(options) && !state.redeclare(options) && state.isRemoved()) {
      forget(state);
      state = createTopic(topic, false, false);
    }
    if (!state.options.equals(options)) {
      if (previous == null) {
        declared.remove(topic, options); // forget the declaration that did not take effect
      }
      throw new IllegalStateException("topic '" + topic + "' already exists with " + state.options);
    }
  }

  /**
   * The topic's state; creates it when {@code create}, or returns null past the topic limit. A
   * topic created {@code byClient} (a subscribe) is a placeholder until it is published or
   * declared: placeholders have their own budget of {@link Limits#maxTopics()}, so clients can
   * never use up the topics of the application, and one is retired when no connection holds it. The
   * state returned may be retired concurrently; its methods then return false to retry.
   */
  TopicState topicState(String topic, boolean create, boolean byClient) {
    TopicState state = topics.get(topic);
    if (state != null || !create) {
      return state;
    }
    return createTopic(topic, true, byClient);
  }

  /** Every topic state, for the cluster's re-reads. */
  java.util.Collection<TopicState> topicStates() {
    return topics.values();
  }

  /**
   * Before a subscribe, with no lock held: with a cluster, reads the topic from it when this node
   * has not yet or is behind the client's resume point. Nothing without a cluster.
   */
  void beforeSubscribe(TopicState state, long since, String clientEpoch) {
    if (cluster != null) {
      cluster.beforeSubscribe(state, since, clientEpoch);
    }
  }

  /** Forgets a retired topic state, if it is still the one mapped. */
  void forget(TopicState state) {
    synchronized (topicCreation) {
      topics.remove(state.name, state);
    }
  }

  /** Creates the topic unless it exists; null past its budget when {@code limited}. */
  private TopicState createTopic(String name, boolean limited, boolean byClient) {
    synchronized (topicCreation) {
      TopicState state = topics.get(name);
      if (state != null && !state.isRemoved()) {
        return state;
      }
      boolean placeholder = byClient && !declared.containsKey(name);
      if (limited) {
        int held = placeholders.get();
        int used = placeholder ? held : topics.size() - held;
        if (used >= limits.maxTopics()) {
          return null;
        }
      }
      if (placeholder) {
        placeholders.incrementAndGet();
      }
      state =
          new TopicState(this, name, declared.getOrDefault(name, defaultTopicOptions), placeholder);
      for (Session s : wildcard) {
        state.joinAtCreation(s);
      }
      topics.put(name, state);
      return state;
    }
  }

  void subscribeWildcard(Session session) {
    boolean already = session.setWildcard(true);
    if (already) {
      session.replyControl("subscribed", Topics.WILDCARD, "{}");
      return;
    }
    // The reply is queued in the same step that joins the set, so nothing of a topic can reach the
    // client before it, and a topic created once the client has read it is joined at creation (a
    // client that publishes after "subscribed" sees that publish as an update, not a snapshot).
    List<TopicState> existing;
    synchronized (topicCreation) {
      wildcard.add(session);
      session.queueControl("subscribed", Topics.WILDCARD, "{}");
      existing = new ArrayList<>(topics.values());
    }
    session.signal();
    for (TopicState t : existing) {
      beforeSubscribe(t, -1, null);
      t.subscribe(session, false, -1, null);
    }
  }

  void unsubscribeWildcard(Session session) {
    List<TopicState> existing;
    synchronized (topicCreation) {
      wildcard.remove(session);
      existing = new ArrayList<>(topics.values());
    }
    session.setWildcard(false);
    for (TopicState t : existing) {
      t.unsubscribe(session, false);
    }
    session.replyControl("unsubscribed", Topics.WILDCARD, "{}");
  }

  /** The topic's latest message as a {@code snapshot}, for polling and REST. */
  public Optional<EncodedMessage> snapshot(String topic) {
    Topics.requireValid(topic);
    TopicState state = topics.get(topic);
    return state == null ? Optional.empty() : Optional.ofNullable(state.snapshotMessage());
  }

  /** One topic, if the hub knows it. */
  public Optional<TopicInfo> topic(String topic) {
    TopicState state = topics.get(topic);
    return state == null ? Optional.empty() : Optional.of(info(state));
  }

  /** Every topic the hub knows, sorted by name. */
  public List<TopicInfo> topics() {
    List<TopicInfo> out = new ArrayList<>();
    for (TopicState t : topics.values()) {
      out.add(info(t));
    }
    out.sort((a, b) -> a.name().compareTo(b.name()));
    return out;
  }

  private static TopicInfo info(TopicState t) {
    return new TopicInfo(
        t.name,
        t.lastId(),
        t.epoch(),
        t.subscriberCount(),
        t.options.throttle().mode(),
        t.hasSnapshot());
  }

  boolean authorize(Connection connection, String topic) {
    try {
      return authorizer.canSubscribe(connection, topic);
    } catch (RuntimeException e) {
      log.warn("Authorizer failed for {} on '{}'; refusing", connection.id(), topic, e);
      return false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Scheduling, stats, lifecycle

  /** Schedules a throttle flush; returns false (and logs) if the scheduler refused it. */
  boolean schedule(Runnable task, long delayNanos) {
    Scheduler s = scheduler;
    if (s == null) {
      synchronized (this) {
        if (scheduler == null) {
          ownedExecutor = Scheduler.newDaemonExecutor("watchcast-throttle");
          scheduler = Scheduler.of(ownedExecutor);
        }
        s = scheduler;
      }
    }
    Runnable guarded =
        () -> {
          try {
            task.run();
          } catch (RuntimeException e) {
            log.error("Throttle flush failed", e);
          }
        };
    try {
      s.schedule(guarded, delayNanos);
      return true;
    } catch (RuntimeException e) {
      if (!closed) {
        log.error("Could not schedule a throttle flush; retrying on the next publish", e);
      }
      return false;
    }
  }

  /** A snapshot of the hub's counters. */
  public HubStats stats() {
    Map<String, Integer> subscribers = new HashMap<>();
    for (TopicState t : topics.values()) {
      subscribers.put(t.name, t.subscriberCount());
    }
    return new HubStats(
        sessions.size(),
        topics.size(),
        subscribers,
        published.sum(),
        emitted.sum(),
        delivered.sum(),
        dropped.sum(),
        conflated.sum(),
        slowConsumersClosed.sum(),
        publishFailures.sum(),
        clientErrors.sum(),
        queuedBytes.sum(),
        laggingConnections.intValue(),
        lagged.sum(),
        caughtUp.sum(),
        overflowResets.sum());
  }

  /** Whether {@link #close()} was called. */
  public boolean isClosed() {
    return closed;
  }

  /**
   * Closes every connection ({@link CloseReason#GOING_AWAY}) and stops the hub's own scheduler.
   * Idempotent. Publishes after close return false.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    // Empty every subscriber list in one go first: detaching sessions one by one from full lists
    // would copy each list once per session (quadratic in a big fan-out).
    for (TopicState t : topics.values()) {
      t.clearSubscribers();
    }
    for (Session s : new ArrayList<>(sessions)) {
      s.closeWith(CloseReason.goingAway());
    }
    ScheduledExecutorService owned = ownedExecutor;
    if (owned != null) {
      owned.shutdownNow();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Builds a {@link ConnectionManager}. Not thread-safe. */
  public static final class Builder {
    private Clock clock = Clock.system();
    private Scheduler scheduler;
    private Limits limits = Limits.defaults();
    private ObjectMapper mapper;
    private Authorizer authorizer = Authorizer.allowAll();
    private TopicOptions defaultTopicOptions = TopicOptions.defaults();
    private final Map<String, TopicOptions> topics = new HashMap<>();
    private ClusterBus clusterBus;

    private Builder() {}

    /**
     * Shares this hub's topics with other processes through {@code bus}: the cluster assigns ids,
     * keeps the shared history and snapshot, and every node delivers every topic's messages in the
     * cluster's order, so that a client can resume on any node. A publish then returns false when
     * the cluster does not take it (unreachable, for example): nothing is delivered, not even
     * locally, so that no node's order differs. {@link #build()} starts the bus and one thread
     * ({@code watchcast-cluster}) that applies its messages; {@link ConnectionManager#close()}
     * closes the bus. Default: none, a hub on its own.
     *
     * @throws IllegalStateException if called twice
     */
    public Builder clusterBus(ClusterBus bus) {
      Objects.requireNonNull(bus, "bus");
      if (this.clusterBus != null) {
        throw new IllegalStateException("clusterBus is already set");
      }
      this.clusterBus = bus;
      return this;
    }

    /** The clock for timestamps, windows and ages. Default {@link Clock#system()}. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Runs the end of throttle windows. Default: one daemon thread the hub starts on first need and
     * stops on close.
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Per-connection and hub limits. Default {@link Limits#defaults()}. */
    public Builder limits(Limits limits) {
      this.limits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /** Serializes published data. Default: a plain {@code new ObjectMapper()}. */
    public Builder objectMapper(ObjectMapper mapper) {
      this.mapper = Objects.requireNonNull(mapper, "mapper");
      return this;
    }

    /** Decides each subscribe. Default {@link Authorizer#allowAll()}. */
    public Builder authorizer(Authorizer authorizer) {
      this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
      return this;
    }

    /** Options of topics that were not declared. Default {@link TopicOptions#defaults()}. */
    public Builder defaultTopicOptions(TopicOptions options) {
      this.defaultTopicOptions = Objects.requireNonNull(options, "options");
      return this;
    }

    /**
     * Declares a topic.
     *
     * @throws IllegalStateException if the topic was declared already on this builder
     */
    public Builder topic(String name, TopicOptions options) {
      Topics.requireValid(name);
      Objects.requireNonNull(options, "options");
      if (topics.putIfAbsent(name, options) != null) {
        throw new IllegalStateException("topic '" + name + "' is declared twice");
      }
      return this;
    }

    public ConnectionManager build() {
      if (mapper == null) {
        mapper = new ObjectMapper();
      }
      ConnectionManager hub = new ConnectionManager(this);
      if (hub.cluster != null) {
        hub.cluster.start();
      }
      return hub;
    }
  }
}
