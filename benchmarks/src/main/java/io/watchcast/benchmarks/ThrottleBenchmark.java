package io.watchcast.benchmarks;

import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.HubStats;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import io.watchcast.Session;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The cost of one {@code publish} into a throttled topic while two threads publish into it at once,
 * on a real hub with {@code subscribers} connections that keep up.
 *
 * <p>{@code throttle}: {@code latest} = {@code Throttle.latest(250 ms)} (conflation: at most one
 * message per window reaches subscribers), {@code batch} = {@code Throttle.batch(100 ms, 500)} (a
 * message of up to 500 items per window), and {@code none} for reference (every publish is fanned
 * out to every subscriber). {@code data}: {@code object} publishes {@link HostStats} (~200 bytes,
 * serialized by the hub with Jackson on the publishing thread, outside any lock); {@code raw}
 * publishes the same JSON as {@link RawJson}, which isolates the hub's own cost (topic lock,
 * conflation, batching, fan-out) from serialization.
 *
 * <p>Scheduler: the hub's default, the daemon thread it starts on first need, because that is what
 * users run and it is what ends windows: a {@code latest} window's newest value and a partial batch
 * are emitted by it, so a no-op scheduler would measure a hub that never delivers them (and a
 * {@code latest} topic would never emit again after its first message). It runs at most one task
 * per window (4/s for {@code latest}, 10/s for {@code batch}), so it costs the two publishing
 * threads almost nothing, while its flushes do contend for the topic lock as they would in
 * production.
 *
 * <p>Connections: {@code messagesAvailable()} must not call back into the hub, so it puts the
 * connection on a shared ready queue (once, guarded by a flag); each publishing thread drains the
 * ready connections after its publish, into a reused list, into a {@link Blackhole}. The cost of
 * delivery is therefore part of the score, as it is on a server whose transport keeps up.
 *
 * <p>The score is the average time per publish of each of the 2 threads (so the hub takes about 2 /
 * score publishes per nanosecond in total). Run it:
 *
 * <pre>
 * ./mvnw -B -q -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar ThrottleBenchmark -prof gc -prof "perfnorm:events=task-clock" \
 *     -f 1 -wi 3 -w 1s -i 5 -r 1s -rf json -rff benchmarks/results/throttle-jdk17.json
 * </pre>
 *
 * Add {@code -t 1} for the uncontended reference. {@code -prof "perfnorm:events=task-clock"} (CPU
 * time per publish, needs Linux {@code perf}) is optional. Results: {@code benchmarks/README.md}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class ThrottleBenchmark {

  static final String TOPIC = "stats";
  static final int DRAIN_BYTES = 64 * 1024;

  /**
   * Per-connection queue limit, raised from the default 1 MiB. A connection is drained by one
   * thread at a time; on this 2-core machine shared with other work, the OS sometimes deschedules a
   * publishing thread for tens of milliseconds while it holds a connection, and the other thread
   * then fills that connection's queue past 1 MiB (3,400 messages of {@code none}, or 10 batches of
   * 500) and the hub rightly closes it as a slow consumer. That is the hub working, but it would
   * end the benchmark; what this measures is the publish path, not the queue limit.
   */
  static final long QUEUE_LIMIT = 64L * 1024 * 1024;

  @Param({"none", "latest", "batch"})
  public String throttle;

  @Param({"object", "raw"})
  public String data;

  @Param({"100"})
  public int subscribers;

  private ConnectionManager hub;
  private Object payload;
  private QueueConnection[] connections;
  private ArrayBlockingQueue<QueueConnection> ready;

  @Setup(Level.Trial)
  public void setUp() {
    Throttle t;
    switch (throttle) {
      case "none":
        t = Throttle.none();
        break;
      case "latest":
        t = Throttle.latest(Duration.ofMillis(250));
        break;
      case "batch":
        t = Throttle.batch(Duration.ofMillis(100), 500);
        break;
      default:
        throw new IllegalArgumentException("throttle: " + throttle);
    }
    HostStats stats = HostStats.sample();
    switch (data) {
      case "object":
        payload = stats;
        break;
      case "raw":
        payload = RawJson.of(toJson(stats));
        break;
      default:
        throw new IllegalArgumentException("data: " + data);
    }
    hub =
        ConnectionManager.builder()
            .topic(TOPIC, TopicOptions.of(t))
            .limits(Limits.builder().maxQueuedBytes(QUEUE_LIMIT).build())
            .build();
    ready = new ArrayBlockingQueue<>(subscribers);
    connections = new QueueConnection[subscribers];
    for (int i = 0; i < subscribers; i++) {
      QueueConnection c = new QueueConnection("c" + i, ready);
      c.session = hub.register(c);
      c.session.subscribe(TOPIC, -1, null);
      connections[i] = c;
    }
    System.gc(); // long-lived state in the old generation, as on a server that has been up a while
  }

  private static String toJson(Object value) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(value);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    HubStats stats = hub.stats();
    for (QueueConnection c : connections) {
      // "subscribed" plus at least the first message of the run
      if (c.received < 2 || c.closedWith != null) {
        throw new IllegalStateException(
            c.id + " received " + c.received + ", closed " + c.closedWith + "; " + stats);
      }
    }
    if (stats.slowConsumersClosed() != 0 || stats.publishFailures() != 0) {
      throw new IllegalStateException("the hub closed or refused: " + stats);
    }
    hub.close();
  }

  /** Each publishing thread's reused drain buffer. */
  @State(Scope.Thread)
  public static class Drain {
    final List<EncodedMessage> buffer = new ArrayList<>();
  }

  @Benchmark
  public void publish(Drain drain, Blackhole bh) {
    if (!hub.publish(TOPIC, payload)) {
      throw new IllegalStateException("publish refused");
    }
    List<EncodedMessage> buffer = drain.buffer;
    QueueConnection c;
    while ((c = ready.poll()) != null) {
      c.queued.set(false); // before draining: a message offered from now on signals again
      while (c.session.drainTo(buffer, DRAIN_BYTES) > 0) {
        for (int i = 0; i < buffer.size(); i++) {
          EncodedMessage m = buffer.get(i);
          bh.consume(m);
          bh.consume(m.size());
        }
        c.addReceived(buffer.size());
        buffer.clear();
      }
    }
  }

  /** A connection that a pool of writer threads (here: the publishing threads) drains. */
  static final class QueueConnection implements Connection {
    final String id;
    final ArrayBlockingQueue<QueueConnection> ready;
    final AtomicBoolean queued = new AtomicBoolean();
    Session session;
    private long received;
    volatile CloseReason closedWith;

    QueueConnection(String id, ArrayBlockingQueue<QueueConnection> ready) {
      this.id = id;
      this.ready = ready;
    }

    synchronized void addReceived(int n) {
      received += n;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public void messagesAvailable() {
      if (queued.compareAndSet(false, true) && !ready.offer(this)) {
        throw new IllegalStateException("ready queue full"); // cannot happen: one slot each
      }
    }

    @Override
    public void close(CloseReason reason) {
      closedWith = reason;
    }
  }
}
