package io.watchcast.benchmarks.cluster;

import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import io.watchcast.Session;
import io.watchcast.cluster.redis.RedisClusterBus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Deliveries per second and delivery latency (publish call to drained by the connection's writer)
 * of one topic with 1,000 subscribers: 1 node in memory (the baseline) vs 2 nodes x 500 clients
 * sharing the topic through Redis. Connections are in-memory (a counting {@link Connection} drained
 * by a pool of writer threads per hub, as a transport would), since the transports are not on this
 * branch; so the numbers are the hub's and Redis's cost, not a socket's.
 *
 * <p>Two phases per setup: <b>latency</b> — one publisher at a fixed rate, every delivery's latency
 * recorded; <b>throughput</b> — publishers as fast as they can (one per node), deliveries per
 * second until every client has every message.
 *
 * <pre>
 * ./mvnw -B -q -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.cluster.ClusterLoadBenchmark \
 *     [messages=2000] [rate=500] [clients=1000] [rounds=3] [redis=redis://127.0.0.1:6379]
 * </pre>
 *
 * Without {@code redis=}, starts {@code redis-server} (from $REDIS_SERVER or /usr/bin) on a free
 * port with no persistence, and stops it at the end.
 */
public final class ClusterLoadBenchmark {
  private static final String TOPIC = "bench";

  public static void main(String[] args) throws Exception {
    int messages = 2000;
    int rate = 500;
    int clients = 1000;
    String redisUri = null;
    int rounds = 3;
    for (String a : args) {
      String[] kv = a.split("=", 2);
      switch (kv[0]) {
        case "messages" -> messages = Integer.parseInt(kv[1]);
        case "rate" -> rate = Integer.parseInt(kv[1]);
        case "clients" -> clients = Integer.parseInt(kv[1]);
        case "redis" -> redisUri = kv[1];
        case "rounds" -> rounds = Integer.parseInt(kv[1]);
        default -> throw new IllegalArgumentException("unknown argument " + a);
      }
    }
    Process redis = null;
    Path dir = null;
    if (redisUri == null) {
      dir = Files.createTempDirectory("watchcast-bench-redis");
      int port = freePort();
      redis = startRedis(dir, port);
      redisUri = "redis://127.0.0.1:" + port;
    }
    System.out.printf(
        "JDK %s, %d cores, %d messages, %d clients, latency rate %d msg/s%n",
        Runtime.version(), Runtime.getRuntime().availableProcessors(), messages, clients, rate);
    try {
      int round = 0;
      List<Result> mems = new ArrayList<>();
      List<Result> reds = new ArrayList<>();
      for (int repeat = 0; repeat <= rounds; repeat++) { // round 0 warms up the JIT
        Result mem = run("memory", 1, clients, messages, rate, null, round++);
        Result red = run("redis", 2, clients, messages, rate, redisUri, round++);
        if (repeat > 0) {
          mems.add(mem);
          reds.add(red);
        }
      }
      System.out.println();
      System.out.println(
          "| round | setup | deliveries/s (max) | latency p50 | p99 | max | at rate |");
      System.out.println("|---|---|---|---|---|---|---|");
      for (int i = 0; i < mems.size(); i++) {
        System.out.println("| " + (i + 1) + " " + mems.get(i).row());
        System.out.println("| " + (i + 1) + " " + reds.get(i).row());
      }
      Result mem = median(mems);
      Result red = median(reds);
      System.out.println("| median " + mem.row());
      System.out.println("| median " + red.row());
      System.out.printf(
          "%nmedian ratio redis/memory: throughput %.2f, p50 latency %.1fx, p99 latency %.1fx%n",
          red.deliveriesPerSecond / mem.deliveriesPerSecond,
          red.p50Micros / mem.p50Micros,
          red.p99Micros / mem.p99Micros);
    } finally {
      if (redis != null) {
        redis.destroyForcibly();
        redis.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  record Result(
      String name,
      int nodes,
      int clients,
      double deliveriesPerSecond,
      double p50Micros,
      double p99Micros,
      double maxMicros,
      int rate) {
    String row() {
      return String.format(
          "| %s, %d node(s) x %d clients | %,.0f | %.0f µs | %.0f µs | %.0f µs | %d msg/s |",
          name, nodes, clients / nodes, deliveriesPerSecond, p50Micros, p99Micros, maxMicros, rate);
    }
  }

  /** The median of each column on its own. */
  private static Result median(List<Result> rs) {
    Result first = rs.get(0);
    return new Result(
        first.name(),
        first.nodes(),
        first.clients(),
        med(rs.stream().mapToDouble(Result::deliveriesPerSecond).toArray()),
        med(rs.stream().mapToDouble(Result::p50Micros).toArray()),
        med(rs.stream().mapToDouble(Result::p99Micros).toArray()),
        med(rs.stream().mapToDouble(Result::maxMicros).toArray()),
        first.rate());
  }

  private static double med(double[] v) {
    Arrays.sort(v);
    return v[v.length / 2];
  }

  private static Result run(
      String name, int nodes, int clients, int messages, int rate, String redisUri, int round)
      throws Exception {
    List<ConnectionManager> hubs = new ArrayList<>();
    List<ExecutorService> writers = new ArrayList<>();
    List<RedisClusterBus> buses = new ArrayList<>();
    Limits limits = Limits.defaults();
    try {
      for (int n = 0; n < nodes; n++) {
        ConnectionManager.Builder b = ConnectionManager.builder().limits(limits);
        if (redisUri != null) {
          RedisClusterBus bus =
              RedisClusterBus.builder(redisUri).keyPrefix("bench" + round + ":").build();
          buses.add(bus);
          b.clusterBus(bus);
        }
        hubs.add(b.build());
        writers.add(Executors.newFixedThreadPool(2));
      }
      for (RedisClusterBus bus : buses) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!bus.isConnected() && System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
      }

      // Phase 1: latency at a fixed rate, one publisher alternating between nodes.
      long[] publishedAt = new long[messages + 1];
      long[] latencies = new long[messages * clients];
      AtomicInteger recorded = new AtomicInteger();
      List<Counting> conns = connect(hubs, writers, clients, publishedAt, latencies, recorded);
      long interval = TimeUnit.SECONDS.toNanos(1) / rate;
      long next = System.nanoTime();
      for (int i = 1; i <= messages; i++) {
        while (System.nanoTime() < next) {
          LockSupport.parkNanos(Math.max(1, next - System.nanoTime()));
        }
        next += interval;
        publishedAt[i] = System.nanoTime();
        if (!hubs.get(i % nodes).publish(TOPIC, payload(i))) {
          throw new IllegalStateException("publish " + i + " failed");
        }
      }
      awaitAll(conns, messages);
      int n = recorded.get();
      long[] lat = Arrays.copyOf(latencies, n);
      Arrays.sort(lat);
      for (Counting c : conns) {
        c.session.close();
      }

      // Phase 2: throughput, one publisher per node as fast as it can.
      List<Counting> conns2 = connect(hubs, writers, clients, null, null, null);
      long start = System.nanoTime();
      List<Thread> publishers = new ArrayList<>();
      int perNode = messages / nodes;
      for (ConnectionManager hub : hubs) {
        Thread t =
            new Thread(
                () -> {
                  for (int i = 0; i < perNode; i++) {
                    if (!hub.publish(TOPIC, payload(i))) {
                      throw new IllegalStateException("publish failed");
                    }
                  }
                });
        t.start();
        publishers.add(t);
      }
      for (Thread t : publishers) {
        t.join();
      }
      awaitAll(conns2, (long) perNode * nodes);
      double seconds = (System.nanoTime() - start) / 1e9;
      double dps = (double) perNode * nodes * clients / seconds;
      return new Result(
          name,
          nodes,
          clients,
          dps,
          lat[(int) (n * 0.50)] / 1e3,
          lat[Math.min(n - 1, (int) (n * 0.99))] / 1e3,
          lat[n - 1] / 1e3,
          rate);
    } finally {
      for (ConnectionManager hub : hubs) {
        hub.close();
      }
      for (ExecutorService w : writers) {
        w.shutdownNow();
      }
    }
  }

  private static RawJson payload(int i) {
    return RawJson.of(
        "{\"seq\":" + i + ",\"cpu\":45.2,\"mem\":1234567,\"host\":\"node-a\",\"ok\":true}");
  }

  private static List<Counting> connect(
      List<ConnectionManager> hubs,
      List<ExecutorService> writers,
      int clients,
      long[] publishedAt,
      long[] latencies,
      AtomicInteger recorded) {
    List<Counting> out = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      int node = c % hubs.size();
      Counting conn = new Counting(writers.get(node), publishedAt, latencies, recorded);
      conn.session = hubs.get(node).register(conn);
      conn.session.subscribe(TOPIC, -1, null);
      out.add(conn);
    }
    // The subscribe replies are not counted.
    for (Counting c : out) {
      c.drain();
      c.updates.set(0);
    }
    return out;
  }

  private static void awaitAll(List<Counting> conns, long messages) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    for (Counting c : conns) {
      while (c.updates.get() < messages) {
        if (c.closed.get() != null) {
          throw new IllegalStateException("a client was closed: " + c.closed.get());
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "a client got " + c.updates.get() + " of " + messages + " in 120 s");
        }
        Thread.sleep(1);
      }
    }
  }

  /** An in-memory client: drains on its hub's writer pool, counts updates, records latency. */
  static final class Counting implements Connection {
    private static final AtomicInteger IDS = new AtomicInteger();
    final String id = "bench-" + IDS.incrementAndGet();
    final ExecutorService writer;
    final long[] publishedAt;
    final long[] latencies;
    final AtomicInteger recorded;
    final AtomicLong updates = new AtomicLong();
    final AtomicBoolean scheduled = new AtomicBoolean();
    final java.util.concurrent.atomic.AtomicReference<CloseReason> closed =
        new java.util.concurrent.atomic.AtomicReference<>();
    volatile Session session;

    Counting(ExecutorService writer, long[] publishedAt, long[] latencies, AtomicInteger recorded) {
      this.writer = writer;
      this.publishedAt = publishedAt;
      this.latencies = latencies;
      this.recorded = recorded;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public void messagesAvailable() {
      if (scheduled.compareAndSet(false, true)) {
        writer.execute(this::drainLoop);
      }
    }

    private void drainLoop() {
      do {
        scheduled.set(true);
        drain();
        scheduled.set(false);
      } while (session.queuedMessages() > 0 && scheduled.compareAndSet(false, true));
    }

    void drain() {
      List<EncodedMessage> out = new ArrayList<>();
      while (session.drainTo(out, 64 * 1024) > 0) {
        long now = System.nanoTime();
        for (EncodedMessage m : out) {
          if (!"update".equals(m.type())) {
            continue;
          }
          updates.incrementAndGet();
          if (publishedAt != null
              && m.id() < publishedAt.length
              && publishedAt[(int) m.id()] != 0) {
            int slot = recorded.getAndIncrement();
            if (slot < latencies.length) {
              latencies[slot] = now - publishedAt[(int) m.id()];
            }
          }
        }
        out.clear();
      }
    }

    @Override
    public void close(CloseReason reason) {
      closed.compareAndSet(null, reason);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static Process startRedis(Path dir, int port) throws Exception {
    String bin = System.getenv().getOrDefault("REDIS_SERVER", "/usr/bin/redis-server");
    Process p =
        new ProcessBuilder(
                bin,
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("redis.out").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return p;
      } catch (IOException e) {
        Thread.sleep(20);
      }
    }
    p.destroyForcibly();
    throw new IOException("redis-server did not start on " + port);
  }

  private ClusterLoadBenchmark() {}
}
