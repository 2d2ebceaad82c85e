package io.watchcast;

import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hub's side of a {@link ClusterBus}: appends publishes, and applies the cluster's messages to
 * the topics on one thread of its own ({@code watchcast-cluster}), so that a node's topics change
 * in one order: the cluster's. Gaps and epoch changes are repaired here by reading the cluster's
 * log; the bus is never called while a topic lock is held.
 */
final class ClusterSync implements ClusterBus.Sink {
  private static final Logger log = LoggerFactory.getLogger(ClusterSync.class);

  /** Messages waiting for the cluster thread; past this, they are dropped and topics re-read. */
  static final int QUEUE_CAPACITY = 65_536;

  /** How long a subscribe waits for its topic to be read from the cluster. */
  static final long SYNC_TIMEOUT_MILLIS = 3_000;

  private final ConnectionManager hub;
  final ClusterBus bus;
  private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>(QUEUE_CAPACITY);
  private final AtomicBoolean overflowed = new AtomicBoolean();
  private final Thread thread;
  private volatile boolean closed;
  // After a failed read, subscribes do not wait for the cluster until this time (System.nanoTime),
  // so that an unreachable cluster does not hold every subscribing transport thread.
  private volatile long unreachableUntil;
  private volatile boolean unreachable;

  /** How long subscribes stop waiting for the cluster after a read failed. */
  static final long UNREACHABLE_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

  ClusterSync(ConnectionManager hub, ClusterBus bus) {
    this.hub = hub;
    this.bus = bus;
    this.thread = new Thread(this::run, "watchcast-cluster");
    thread.setDaemon(true);
  }

  /** Starts the bus, then the thread (so that a bus that refuses to start leaves no thread). */
  void start() {
    bus.start(this);
    thread.start();
  }

  void close() {
    closed = true;
    try {
      bus.close();
    } catch (RuntimeException e) {
      log.warn("Closing the cluster bus failed", e);
    }
    thread.interrupt();
  }

  // -------------------------------------------------------------------------------------------
  // Publishing

  /** Appends one message; false (counted, logged) when the cluster refused it or is unreachable. */
  boolean append(TopicState state, String type, byte[] data, long timestamp) {
    try {
      bus.append(state.name, type, data, timestamp, state.options.historySize());
    } catch (Exception e) {
      hub.publishFailures.increment();
      failureLog.failed(state.name, e);
      return false;
    }
    failureLog.succeeded();
    return true;
  }

  /**
   * An outage fails every publish: at 100 msg/s that is 500 lines in 5 s. The log gets the first
   * failure, a summary at most every {@link #FAILURE_SUMMARY_NANOS} while it lasts, and one line
   * when publishing works again; {@code HubStats.publishFailures} counts every one.
   */
  private final FailureLog failureLog = new FailureLog();

  static final long FAILURE_SUMMARY_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** How many lines the publish-failure log has written. */
  int failureLogLines() {
    synchronized (failureLog) {
      return failureLog.lines;
    }
  }

  private final class FailureLog {
    private long failed; // since the last line; guarded by this
    private long total; // since the outage began; guarded by this
    private long firstNanos;
    private long lastLineNanos;
    private int lines; // lines logged, for tests; guarded by this
    private volatile boolean failing;

    void failed(String topic, Exception e) {
      long now = hub.clock.nanos();
      synchronized (this) {
        failed++;
        total++;
        if (!failing) {
          failing = true;
          firstNanos = now;
          lastLineNanos = now;
          failed = 0;
          lines++;
          log.warn(
              "Publish on '{}' failed: the cluster did not take it ({}); further failures are"
                  + " summed up until it works again",
              topic,
              e.toString());
        } else if (now - lastLineNanos >= FAILURE_SUMMARY_NANOS) {
          log.warn(
              "{} more publishes failed in the last {} s; the cluster still does not take them"
                  + " ({})",
              failed,
              TimeUnit.NANOSECONDS.toSeconds(now - lastLineNanos),
              e.toString());
          lastLineNanos = now;
          failed = 0;
          lines++;
        }
      }
    }

    void succeeded() {
      if (!failing) {
        return; // the common case: one volatile read
      }
      long now = hub.clock.nanos();
      synchronized (this) {
        if (!failing) {
          return;
        }
        failing = false;
        lines++;
        log.info(
            "The cluster takes publishes again, after {} failed over {} ms",
            total,
            TimeUnit.NANOSECONDS.toMillis(now - firstNanos));
        total = 0;
        failed = 0;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // The sink: the bus's thread

  @Override
  public void message(ClusterBus.Message m) {
    if (!queue.offer(() -> apply(m))) {
      if (overflowed.compareAndSet(false, true)) {
        log.warn("Cluster messages arrive faster than they are applied; re-reading every topic");
      }
    }
  }

  @Override
  public void connected() {
    enqueue(this::resyncAll);
  }

  private void enqueue(Runnable task) {
    try {
      queue.put(task);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // -------------------------------------------------------------------------------------------
  // The cluster thread

  private void run() {
    while (!closed) {
      Runnable task;
      try {
        task = queue.take();
      } catch (InterruptedException e) {
        if (closed) {
          return;
        }
        continue;
      }
      try {
        task.run();
        if (overflowed.compareAndSet(true, false)) {
          resyncAll();
        }
      } catch (RuntimeException e) {
        log.error("Applying a cluster message failed", e);
      }
    }
  }

  private void apply(ClusterBus.Message m) {
    if (Topics.problem(m.topic()) != null) {
      log.warn("Ignoring a cluster message on an invalid topic name");
      return;
    }
    while (true) {
      TopicState state = hub.topicState(m.topic(), true, false);
      if (state == null) {
        log.warn(
            "Cluster message on '{}' dropped: the hub already has {} topics",
            m.topic(),
            hub.limits.maxTopics());
        return;
      }
      int result = state.applyFromCluster(m);
      if (result == TopicState.RETIRED) {
        hub.forget(state);
        continue;
      }
      if (result == TopicState.GAP) {
        sync(state);
      }
      return;
    }
  }

  private void resyncAll() {
    for (TopicState state : new ArrayList<>(hub.topicStates())) {
      sync(state);
    }
  }

  /** Reads the topic from the cluster and brings the local state up to it. Cluster thread only. */
  private void sync(TopicState state) {
    ClusterBus.Log clusterLog;
    try {
      clusterLog =
          bus.read(
              state.name, state.epoch(), state.lastId(), Math.max(1, state.options.historySize()));
    } catch (Exception e) {
      log.warn("Reading '{}' from the cluster failed ({})", state.name, e.toString());
      unreachableUntil = System.nanoTime() + UNREACHABLE_BACKOFF_NANOS;
      unreachable = true;
      return;
    }
    unreachable = false;
    state.adopt(clusterLog);
  }

  /**
   * Before a subscribe: makes sure the topic has been read from the cluster once, and catches up
   * when the client says it has seen more than this node, so that a client moving between nodes
   * resumes instead of getting a reset. Waits up to {@link #SYNC_TIMEOUT_MILLIS}; on the caller's
   * thread, with no lock held.
   */
  void beforeSubscribe(TopicState state, long since, String clientEpoch) {
    boolean behind =
        since >= 0
            && clientEpoch != null
            && (!clientEpoch.equals(state.epoch()) || since > state.lastId());
    if (state.isSynced() && !behind) {
      return;
    }
    if (unreachable && System.nanoTime() - unreachableUntil < 0) {
      return; // the cluster just failed a read: answer from the local state at once
    }
    if (Thread.currentThread() == thread) {
      sync(state);
      return;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    enqueue(
        () -> {
          try {
            sync(state);
          } finally {
            done.complete(null);
          }
        });
    try {
      done.get(SYNC_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn(
          "Topic '{}' was not read from the cluster in time; using the local state", state.name);
    }
  }
}
