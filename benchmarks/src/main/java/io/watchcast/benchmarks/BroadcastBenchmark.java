package io.watchcast.benchmarks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.HubStats;
import io.watchcast.Session;
import io.watchcast.TopicOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * One publish of a ~200-byte state object ({@link HostStats}) fanned out to {@code subscribers}
 * in-memory connections, each of which then takes what it was given, as a transport that keeps up
 * would. One operation = one publish plus every subscriber's drain of it.
 *
 * <p>{@code impl} selects what does the fan-out, all measured in the same run:
 *
 * <ul>
 *   <li>{@code hub}: Watchcast's {@link ConnectionManager}. The data is serialized once and the
 *       envelope encoded once; every {@link Session} gets the same {@link EncodedMessage} in its
 *       bounded queue; the connection is woken by {@link Connection#messagesAvailable()} and drains
 *       with {@link Session#drainTo} until it returns 0, into a reused list.
 *   <li>{@code naive}: the baseline the issue names, what simple "ConnectionManager" examples do:
 *       for each subscriber, {@code mapper.writeValueAsString(envelopeMap)} and append the string
 *       to that subscriber's unbounded {@link ConcurrentLinkedQueue}, then drain each queue the
 *       same way. The envelope map is built once per publish (the kindest version of that code).
 *   <li>{@code naiveShared}: for reference, the same unbounded queues but the envelope serialized
 *       once per publish and the one string shared by every subscriber. It shows what is left once
 *       per-subscriber serialization is gone, and what the hub's bounded queues, conflation and
 *       ordering guarantees cost on top of a bare queue.
 * </ul>
 *
 * <p>The in-memory connection honours the {@link Connection} contract: {@code messagesAvailable()}
 * must not call back into the hub, so it only puts the connection on a ready list; the benchmark
 * thread then drains every ready connection right after {@code publish} returns, which is what a
 * transport's writer thread does when it keeps up. Every drained message goes to a {@link
 * Blackhole} with its size. {@code naive} and {@code naiveShared} drain the same way.
 *
 * <p>A fourth value, {@code -p impl=hubInlineDrain}, is a diagnostic left out of the default run:
 * the connection drains its session inside {@code messagesAvailable()}, on the publishing thread,
 * which the SPI forbids (no call back into the hub) but the hub tolerates because it holds no lock
 * there. It saves one pass over the subscribers (the drain touches each session right after the
 * signal did), so comparing it with {@code hub} at 10,000 subscribers shows how much of the cost is
 * re-reading every subscriber's state from memory.
 *
 * <p>Run it, with allocation per publish ({@code gc.alloc.rate.norm}, bytes per operation):
 *
 * <pre>
 * ./mvnw -B -q -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar BroadcastBenchmark -prof gc -prof "perfnorm:events=task-clock" \
 *     -f 2 -wi 3 -w 1s -i 5 -r 1s -rf json -rff benchmarks/results/broadcast-jdk17.json
 * </pre>
 *
 * <p>{@code -prof "perfnorm:events=task-clock"} (CPU time per publish, needs Linux {@code perf}) is
 * optional. Results and how to read them: {@code benchmarks/README.md}.
 *
 * <p>Setup ends with {@code System.gc()}, so that the long-lived state (connections, sessions,
 * their queues) is in the old generation as on a server that has been running; every impl gets the
 * same.
 *
 * <p>Single-threaded: one publisher, and draining on the same thread, so the numbers are CPU cost
 * per publish, not throughput under contention (see {@link ThrottleBenchmark} for that).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class BroadcastBenchmark {

  static final String TOPIC = "stats";
  static final int DRAIN_BYTES = 64 * 1024;

  @Param({"1", "100", "1000", "10000"})
  public int subscribers;

  @Param({"hub", "naive", "naiveShared"})
  public String impl;

  private Fanout fanout;

  @Setup(Level.Trial)
  public void setUp() {
    HostStats data = HostStats.sample();
    switch (impl) {
      case "hub":
        fanout = new HubFanout(subscribers, data, false);
        break;
      case "hubInlineDrain":
        fanout = new HubFanout(subscribers, data, true);
        break;
      case "naive":
        fanout = new NaiveFanout(subscribers, data, false);
        break;
      case "naiveShared":
        fanout = new NaiveFanout(subscribers, data, true);
        break;
      default:
        throw new IllegalArgumentException("impl: " + impl);
    }
    // Start every impl from the state of a server that has been up for a while: its connections,
    // sessions and queues promoted to the old generation, and setup's garbage gone. Without this
    // the result depends on whether setup happened to trigger a young GC (it does at 10,000
    // subscribers, not at 1,000), and under G1 that changes the cost of every delivery; see
    // benchmarks/README.md ("Why 10,000 subscribers cost more per delivery").
    System.gc();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    fanout.verifyAndClose();
  }

  @Benchmark
  public void publish(Blackhole bh) {
    fanout.publishAndDrain(bh);
  }

  /** One way to broadcast a message to every subscriber and let each one take it. */
  interface Fanout {
    void publishAndDrain(Blackhole bh);

    /** Checks that every subscriber got every message (the benchmark measured real work). */
    void verifyAndClose();
  }

  // -----------------------------------------------------------------------------------------------
  // Watchcast's hub

  static final class HubFanout implements Fanout {
    private final ConnectionManager hub;
    private final Object data;
    private final MemoryConnection[] connections;
    private final MemoryConnection[] ready;
    private int readyCount;
    private final List<EncodedMessage> buffer = new ArrayList<>();
    private final boolean inline;
    private Blackhole bh;
    private long publishes;

    HubFanout(int subscribers, Object data, boolean inline) {
      this.data = data;
      this.inline = inline;
      this.hub = ConnectionManager.builder().topic(TOPIC, TopicOptions.defaults()).build();
      this.connections = new MemoryConnection[subscribers];
      this.ready = new MemoryConnection[subscribers];
      for (int i = 0; i < subscribers; i++) {
        MemoryConnection c = new MemoryConnection("c" + i, this);
        c.session = hub.register(c);
        c.session.subscribe(TOPIC, -1, null);
        connections[i] = c;
      }
      drainReady(); // the "subscribed" replies
    }

    void ready(MemoryConnection c) {
      if (inline) {
        drain(c);
        return;
      }
      // Each connection is signalled once per empty -> non-empty transition, and drained empty
      // before the next publish, so it is on the list at most once.
      ready[readyCount++] = c;
    }

    @Override
    public void publishAndDrain(Blackhole bh) {
      this.bh = bh;
      if (!hub.publish(TOPIC, data)) {
        throw new IllegalStateException("publish refused");
      }
      publishes++;
      drainReady();
    }

    private void drainReady() {
      for (int i = 0; i < readyCount; i++) {
        MemoryConnection c = ready[i];
        ready[i] = null;
        drain(c);
      }
      readyCount = 0;
    }

    private void drain(MemoryConnection c) {
      while (c.session.drainTo(buffer, DRAIN_BYTES) > 0) {
        for (int j = 0; j < buffer.size(); j++) {
          EncodedMessage m = buffer.get(j);
          c.received++;
          if (bh != null) {
            bh.consume(m);
            bh.consume(m.size());
          }
        }
        buffer.clear();
      }
    }

    @Override
    public void verifyAndClose() {
      HubStats stats = hub.stats();
      for (MemoryConnection c : connections) {
        // one "subscribed" reply, then every publish
        if (c.received != publishes + 1 || c.closedWith != null) {
          throw new IllegalStateException(
              c.id
                  + " received "
                  + c.received
                  + " of "
                  + (publishes + 1)
                  + ", closed "
                  + c.closedWith);
        }
      }
      if (stats.slowConsumersClosed() != 0 || stats.dropped() != 0) {
        throw new IllegalStateException("hub dropped messages: " + stats);
      }
      // Deliberately not hub.close(): this hub owns no thread (its topic is unthrottled) and the
      // forked JVM ends next, while JMH's -prof gc counts a trial teardown's allocation in the last
      // measured iteration. close() with 10,000 subscribers allocates ~200 MB (each session's
      // detach copies the topic's subscriber array: O(n^2)), which turned that iteration's
      // gc.alloc.rate.norm into ~700 KB per publish. See benchmarks/README.md.
    }
  }

  /** A transport's connection that keeps up: woken, it is drained on the benchmark thread. */
  static final class MemoryConnection implements Connection {
    final String id;
    final HubFanout owner;
    Session session;
    long received;
    volatile CloseReason closedWith;

    MemoryConnection(String id, HubFanout owner) {
      this.id = id;
      this.owner = owner;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public void messagesAvailable() {
      owner.ready(this);
    }

    @Override
    public void close(CloseReason reason) {
      closedWith = reason;
    }
  }

  // -----------------------------------------------------------------------------------------------
  // The baseline: per-subscriber Jackson serialization into unbounded queues

  static final class NaiveFanout implements Fanout {
    private final ObjectMapper mapper = new ObjectMapper();
    private final Object data;
    private final boolean shared;
    private final List<NaiveConnection> connections = new CopyOnWriteArrayList<>();
    private final List<String> buffer = new ArrayList<>();
    private long id;

    NaiveFanout(int subscribers, Object data, boolean shared) {
      this.data = data;
      this.shared = shared;
      for (int i = 0; i < subscribers; i++) {
        connections.add(new NaiveConnection());
      }
    }

    @Override
    public void publishAndDrain(Blackhole bh) {
      Map<String, Object> envelope = new LinkedHashMap<>();
      envelope.put("type", "update");
      envelope.put("topic", TOPIC);
      envelope.put("data", data);
      envelope.put("timestamp", System.currentTimeMillis());
      envelope.put("id", ++id);
      if (shared) {
        String json = serialize(envelope);
        for (NaiveConnection c : connections) {
          c.queue.add(json);
        }
      } else {
        for (NaiveConnection c : connections) {
          c.queue.add(serialize(envelope));
        }
      }
      for (NaiveConnection c : connections) {
        String s;
        while ((s = c.queue.poll()) != null) {
          buffer.add(s);
        }
        for (int j = 0; j < buffer.size(); j++) {
          String m = buffer.get(j);
          c.received++;
          bh.consume(m);
          bh.consume(m.length());
        }
        buffer.clear();
      }
    }

    private String serialize(Map<String, Object> envelope) {
      try {
        return mapper.writeValueAsString(envelope);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void verifyAndClose() {
      for (NaiveConnection c : connections) {
        if (c.received != id) {
          throw new IllegalStateException("received " + c.received + " of " + id);
        }
      }
    }
  }

  static final class NaiveConnection {
    final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
    long received;
  }
}
