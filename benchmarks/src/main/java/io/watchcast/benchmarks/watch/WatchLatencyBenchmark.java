package io.watchcast.benchmarks.watch;

import io.watchcast.CloseReason;
import io.watchcast.Connection;
import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.Envelope;
import io.watchcast.RawJson;
import io.watchcast.Session;
import io.watchcast.cache.MtimeCache;
import io.watchcast.collect.Collector;
import io.watchcast.collect.FilePipeline;
import io.watchcast.collect.PipelineStats;
import io.watchcast.watch.WatchOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Watch-to-publish latency, end to end: a file is written, the watcher sees it, the batch is
 * debounced, the collector re-reads the file through the pipeline and the hub publishes the value,
 * which reaches an in-memory connection drained on its own thread like a transport's. One change at
 * a time (the next write follows the previous arrival), so each sample is one change's latency.
 *
 * <p>Three series in one run, each at default settings: {@code native} (WatchService, 20 ms quiet
 * period), {@code polling} (250 ms interval) and the {@code direct} baseline, where the writer
 * itself runs the same read-serialize-publish right after writing: the floor without any watcher.
 *
 * <pre>
 * ./mvnw -B -q -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.watch.WatchLatencyBenchmark \
 *     [changes=1000] [warmup=100] [series=direct,native,polling]
 * </pre>
 */
public final class WatchLatencyBenchmark {

  /** A connection that, like a transport, drains on its own thread when told messages wait. */
  static final class DrainingConnection implements Connection {
    final BlockingQueue<long[]> arrivals = new LinkedBlockingQueue<>(); // {seq, nanos}
    final Semaphore wake = new Semaphore(0);
    final AtomicBoolean closed = new AtomicBoolean();
    volatile Session session;
    final Thread drainer =
        new Thread(
            () -> {
              List<EncodedMessage> out = new ArrayList<>();
              while (!closed.get()) {
                try {
                  wake.tryAcquire(100, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                  return;
                }
                Session s = session;
                if (s == null) {
                  continue;
                }
                while (s.drainTo(out, 64 * 1024) > 0) {
                  long now = System.nanoTime();
                  for (EncodedMessage m : out) {
                    if (m.type().equals("update")) {
                      arrivals.add(new long[] {seqOf(m), now});
                    }
                  }
                  out.clear();
                }
              }
            },
            "bench-connection");

    static long seqOf(EncodedMessage m) {
      Envelope e = Envelope.parse(m.jsonString());
      return e.data().path("seq").asLong(-1);
    }

    @Override
    public String id() {
      return "bench";
    }

    @Override
    public void messagesAvailable() {
      wake.release();
    }

    @Override
    public void close(CloseReason reason) {
      closed.set(true);
    }

    long awaitSeq(long seq) throws InterruptedException {
      while (true) {
        long[] a = arrivals.poll(10, TimeUnit.SECONDS);
        if (a == null) {
          throw new IllegalStateException("seq " + seq + " never arrived");
        }
        if (a[0] == seq) {
          return a[1];
        }
      }
    }
  }

  record Result(String series, long[] nanos, PipelineStats stats) {
    double pct(double q) {
      long[] s = nanos.clone();
      Arrays.sort(s);
      int i = (int) Math.ceil(q * s.length) - 1;
      return s[Math.max(0, Math.min(s.length - 1, i))] / 1e6;
    }

    /** The percentage of samples at or under {@code ms}. */
    double shareWithin(double ms) {
      long n = Arrays.stream(nanos).filter(x -> x <= ms * 1e6).count();
      return 100.0 * n / nanos.length;
    }

    double mean() {
      return Arrays.stream(nanos).average().orElse(0) / 1e6;
    }
  }

  public static void main(String[] args) throws Exception {
    int changes = 1000;
    int warmup = 100;
    List<String> series = List.of("direct", "native", "polling");
    for (String a : args) {
      String[] kv = a.split("=", 2);
      switch (kv[0]) {
        case "changes" -> changes = Integer.parseInt(kv[1]);
        case "warmup" -> warmup = Integer.parseInt(kv[1]);
        case "series" -> series = List.of(kv[1].split(","));
        default -> throw new IllegalArgumentException("unknown argument " + a);
      }
    }
    System.out.printf(
        "JDK %s (%s), %d cpus, %d MiB max heap, %s%n",
        System.getProperty("java.version"),
        System.getProperty("java.vm.name"),
        Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20,
        System.getProperty("os.name") + " " + System.getProperty("os.version"));
    List<Result> results = new ArrayList<>();
    for (String s : series) {
      Result r = run(s, changes, warmup);
      results.add(r);
      print(r);
    }
    Result base = results.stream().filter(r -> r.series.equals("direct")).findFirst().orElse(null);
    System.out.println();
    System.out.println(
        "| series | changes | p50 ms | p90 ms | p99 ms | max ms | mean ms | within 25 ms"
            + " | p99 / direct p99 |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    for (Result r : results) {
      System.out.printf(
          "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f%% | %s |%n",
          r.series,
          r.nanos.length,
          r.pct(0.50),
          r.pct(0.90),
          r.pct(0.99),
          r.pct(1.0),
          r.mean(),
          r.shareWithin(25),
          base == null ? "-" : String.format("%.1fx", r.pct(0.99) / base.pct(0.99)));
    }
  }

  static void print(Result r) {
    System.out.printf(
        "%-8s n=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms%n",
        r.series, r.nanos.length, r.pct(0.5), r.pct(0.9), r.pct(0.99), r.pct(1.0));
    if (r.stats != null) {
      PipelineStats s = r.stats;
      System.out.println("  event->batch      " + s.eventToBatch());
      System.out.println("  batch->collected  " + s.batchToCollected());
      System.out.println("  collected->publ.  " + s.collectedToPublished());
      System.out.println("  event->published  " + s.eventToPublished());
      System.out.println("  batches=" + s.batches() + " watch=" + s.watch());
    }
  }

  static Result run(String series, int changes, int warmup) throws Exception {
    Path root = Files.createTempDirectory("watchcast-bench-");
    Path file = root.resolve("value.txt");
    Files.writeString(file, "0");
    DrainingConnection conn = new DrainingConnection();
    conn.drainer.setDaemon(true);
    conn.drainer.start();
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      conn.session = hub.register(conn);
      conn.session.receive("{\"action\":\"subscribe\",\"topic\":\"value\"}");
      Collector<Map<String, Long>> collector =
          Collector.of(
              "value",
              List.of("value.txt"),
              ctx ->
                  Map.of("seq", Long.parseLong(ctx.readString(ctx.resolve("value.txt")).trim())));
      long[] samples = new long[changes];
      if (series.equals("direct")) {
        MtimeCache<byte[]> cache = MtimeCache.builder().build(Files::readAllBytes);
        com.fasterxml.jackson.databind.ObjectMapper mapper =
            new com.fasterxml.jackson.databind.ObjectMapper();
        for (int i = 1; i <= warmup + changes; i++) {
          long t0 = System.nanoTime();
          Files.writeString(file, Integer.toString(i));
          cache.invalidate(file);
          long seq = Long.parseLong(new String(cache.get(file), StandardCharsets.UTF_8).trim());
          hub.publish("value", new RawJson(mapper.writeValueAsBytes(Map.of("seq", seq))));
          long arrived = conn.awaitSeq(i);
          if (i > warmup) {
            samples[i - warmup - 1] = arrived - t0;
          }
        }
        return new Result(series, samples, null);
      }
      WatchOptions options =
          WatchOptions.defaults()
              .withBackend(
                  series.equals("polling")
                      ? WatchOptions.Backend.POLLING
                      : WatchOptions.Backend.NATIVE);
      try (FilePipeline pipeline =
          FilePipeline.builder(hub).root(root).watchOptions(options).collector(collector).build()) {
        pipeline.start();
        conn.awaitSeq(0);
        java.util.Random random = new java.util.Random(42);
        long gapMax = options.pollInterval().toNanos();
        for (int i = 1; i <= warmup + changes; i++) {
          // A random pause so that writes do not fall in step with the poll (or any) interval.
          java.util.concurrent.locks.LockSupport.parkNanos((long) (random.nextDouble() * gapMax));
          long t0 = System.nanoTime();
          Files.writeString(file, Integer.toString(i));
          long arrived = conn.awaitSeq(i);
          if (i > warmup) {
            samples[i - warmup - 1] = arrived - t0;
          }
        }
        return new Result(series, samples, pipeline.stats());
      }
    } finally {
      conn.closed.set(true);
      deleteTree(root);
    }
  }

  static void deleteTree(Path root) throws IOException {
    try (var s = Files.walk(root)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private WatchLatencyBenchmark() {}
}
