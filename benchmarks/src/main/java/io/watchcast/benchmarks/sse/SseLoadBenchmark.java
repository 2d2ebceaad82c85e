package io.watchcast.benchmarks.sse;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * End-to-end SSE load benchmark over real sockets: the server (watchcast-transport-sse on Jetty, or
 * the thread-per-stream JDK HttpServer baseline) runs in a child JVM; this JVM holds the streams
 * (one NIO selector thread for HTTP/1.1, Jetty's HTTP2Client for h2c) and measures deliveries per
 * second and publish-to-parse latency.
 *
 * <pre>
 * ./mvnw -B -q -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.sse.SseLoadBenchmark \
 *     [streams=100,1000,10000] [seconds=8] [servers=jetty,jdk] [h2c=true] [h2tls=true]
 *     [floor=true] [serverHeap=1g]      (servers=jetty-tls: only the h2-over-TLS run)
 *
 * # the transport's send buffer: each value in turn, in rounds (A/B/A/B...), one server JVM each
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.sse.SseLoadBenchmark \
 *     sendBuffers=0,65536 [rounds=5] [streams=1000] [seconds=8] [stallSeconds=10] [stallRate=200]
 * </pre>
 *
 * Per stream count: open the streams; server heap/threads/RSS after GC; a paced run at 100
 * messages/s; a full-speed run (closed loop: the publisher keeps at most 8 messages per stream not
 * yet written to a socket). Results are printed as Markdown table rows.
 *
 * <p>With {@code sendBuffers} (the transport's {@code sendBufferBytes}; 0 = the operating system's
 * autotuned buffer), only that comparison runs: per round and value, a fresh server JVM; the
 * stalled-reader probe ({@link StallProbe}; {@code stallSeconds=0} skips it); then full speed to
 * the first stream count over HTTP/1.1 and over h2c on one connection, with the server's CPU time
 * per delivery. Medians and ranges per value at the end.
 */
public final class SseLoadBenchmark {

  record Row(
      String server,
      String transport,
      int streams,
      String load,
      double deliveriesPerSec,
      double expectedPerSec,
      double p50,
      double p99,
      long heapPerStream,
      int threads,
      long rssMb,
      int streamsAfter,
      double serverCpuUsPerDelivery) {}

  /** Full speed: messages per stream published but not yet received by the client. */
  static final int WINDOW = 4;

  static int[] streamCounts = {100, 1000, 10_000};
  static double seconds = 8;
  static List<String> servers = List.of("jetty", "jdk");
  static boolean h2c = true;
  static int rate = 100;
  static boolean floor = true;
  static boolean h2tls = true;
  static String serverJvmArg = "-Dwatchcast.benchmark=true";
  static String serverHeap = "1g";
  static int[] sendBuffers;
  static int rounds = 5;
  static double stallSeconds = 10;
  static int stallRate = 200;
  static int stallPad = 1000;

  /**
   * Above this many streams the thread-per-stream baseline is only opened and measured at rest: in
   * a first run its 100 msg/s run to 10,000 streams had not finished after 3 minutes and drove the
   * shared machine's load average past 130.
   */
  static int baselineMaxLoadStreams = 1000;

  public static void main(String[] args) throws Exception {
    for (String a : args) {
      String[] kv = a.split("=", 2);
      switch (kv[0]) {
        case "streams" -> {
          String[] p = kv[1].split(",");
          streamCounts = new int[p.length];
          for (int i = 0; i < p.length; i++) {
            streamCounts[i] = Integer.parseInt(p[i]);
          }
        }
        case "seconds" -> seconds = Double.parseDouble(kv[1]);
        case "servers" -> servers = List.of(kv[1].split(","));
        case "h2c" -> h2c = Boolean.parseBoolean(kv[1]);
        case "rate" -> rate = Integer.parseInt(kv[1]);
        case "floor" -> floor = Boolean.parseBoolean(kv[1]);
        case "h2tls" -> h2tls = Boolean.parseBoolean(kv[1]);
        case "serverJvmArg" -> serverJvmArg = kv[1];
        case "serverHeap" -> serverHeap = kv[1];
        case "baselineMaxLoadStreams" -> baselineMaxLoadStreams = Integer.parseInt(kv[1]);
        case "sendBuffers" ->
            sendBuffers =
                java.util.Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
        case "rounds" -> rounds = Integer.parseInt(kv[1]);
        case "stallSeconds" -> stallSeconds = Double.parseDouble(kv[1]);
        case "stallRate" -> stallRate = Integer.parseInt(kv[1]);
        case "stallPad" -> stallPad = Integer.parseInt(kv[1]);
        default -> throw new IllegalArgumentException("unknown option " + a);
      }
    }
    System.out.printf(
        "JDK %s, %d cores, streams=%s, seconds=%s, server heap %s%n",
        System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors(),
        java.util.Arrays.toString(streamCounts),
        seconds,
        serverHeap);
    if (sendBuffers != null) {
      compareSendBuffers();
      return;
    }
    List<Row> rows = new ArrayList<>();
    if (floor) {
      // The kernel's floor at the same rate: one write per event per socket, no JVM, no HTTP.
      // First, while nothing else of this benchmark runs (no server child, no client garbage).
      for (int n : streamCounts) {
        if (n > baselineMaxLoadStreams) {
          continue;
        }
        var r = io.watchcast.benchmarks.LoopbackFloor.run(n, rate, (int) Math.ceil(seconds), 240);
        if (r.isPresent()) {
          var m = r.get();
          addRow(
              rows,
              new Row(
                  "floor (C)",
                  "TCP, 240-byte writes",
                  n,
                  rate + " msg/s",
                  Double.parseDouble(m.get("perSecond")),
                  (double) rate * n,
                  Long.parseLong(m.get("p50us")) / 1000.0,
                  Long.parseLong(m.get("p99us")) / 1000.0,
                  -1,
                  2,
                  0,
                  n,
                  Double.NaN));
        }
      }
    }
    for (String server : servers) {
      if (server.equals("jetty-tls")) {
        continue; // below
      }
      try (Child child = new Child(server)) {
        Recorder rec = new Recorder();
        long heap0 = warmUp(child, rec);
        for (int n : streamCounts) {
          try (NioSseClient client = new NioSseClient(rec)) {
            try {
              client.open(child.address(), "/events?topic=load", n);
            } catch (Exception e) {
              System.out.printf("%s: could not open %d streams: %s%n", server, n, e);
              continue;
            }
            String got = child.command("await " + n);
            awaitHeaders(() -> client.headersSeen.get(), n);
            if (server.equals("jdk") && n > baselineMaxLoadStreams) {
              String[] stats = child.command("stats").split(" ");
              System.out.printf(
                  "%s HTTP/1.1 %d streams at rest only: %s%n", server, n, String.join(" ", stats));
              addRow(
                  rows,
                  new Row(
                      server,
                      "HTTP/1.1",
                      n,
                      "at rest (no load run)",
                      Double.NaN,
                      Double.NaN,
                      Double.NaN,
                      Double.NaN,
                      (value(stats, "heap") - heap0) / n,
                      (int) value(stats, "threads"),
                      value(stats, "rssKb") / 1024,
                      n,
                      Double.NaN));
              continue;
            }
            measure(rows, child, rec, server, "HTTP/1.1", n, heap0, got, client.open::get, true);
          }
          child.command("await 0");
        }
        if (h2c && server.equals("jetty")) {
          for (int[] shape : new int[][] {{1000, 1}, {10_000, 10}}) {
            int n = shape[0];
            try (H2SseClient client = new H2SseClient(rec)) {
              client.open(child.address(), "/events?topic=load", shape[1], n);
              String got = child.command("await " + n);
              awaitHeaders(() -> client.headersSeen.get(), n);
              measure(
                  rows,
                  child,
                  rec,
                  server,
                  "h2c, " + shape[1] + (shape[1] == 1 ? " connection" : " connections"),
                  n,
                  heap0,
                  got,
                  () -> n,
                  true);
            }
            child.command("await 0");
          }
        }
      }
    }
    if ((h2tls && servers.contains("jetty")) || servers.contains("jetty-tls")) {
      // As a browser reaches an HTTPS server: h2 chosen by ALPN, every stream on one connection.
      try (Child child = new Child("jetty-tls")) {
        Recorder rec = new Recorder();
        long heap0 = value(child.command("stats").split(" "), "heap");
        for (int n : streamCounts) {
          if (n > baselineMaxLoadStreams) {
            continue;
          }
          try (H2SseClient client = new H2SseClient(rec, true)) {
            client.open(child.address(), "/events?topic=load", 1, n);
            String got = child.command("await " + n);
            awaitHeaders(() -> client.headersSeen.get(), n);
            measure(
                rows, child, rec, "jetty", "h2 (TLS), 1 connection", n, heap0, got, () -> n, true);
          }
          child.command("await 0");
        }
      }
    }
    System.out.println();
    System.out.println(HEADER);
    for (Row r : rows) {
      printRow(r);
    }
  }

  static final String HEADER =
      "| server | transport | streams | load | deliveries/s | expected/s | p50 ms | p99 ms |"
          + " heap/stream | threads | RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|";

  static void addRow(List<Row> rows, Row r) {
    rows.add(r);
    System.out.print("ROW ");
    printRow(r);
  }

  static void printRow(Row r) {
    {
      System.out.printf(
          Locale.ROOT,
          "| %s | %s | %,d | %s | %,.0f | %s | %.2f | %.2f | %s | %d | %d |%n",
          r.server,
          r.transport,
          r.streams,
          r.load,
          r.deliveriesPerSec,
          Double.isNaN(r.expectedPerSec)
              ? "-"
              : String.format(Locale.ROOT, "%,.0f", r.expectedPerSec),
          r.p50,
          r.p99,
          r.heapPerStream < 0 ? "-" : String.format(Locale.ROOT, "%,d B", r.heapPerStream),
          r.threads,
          r.rssMb);
    }
  }

  private static void awaitHeaders(java.util.function.IntSupplier seen, int n) {
    long end = System.nanoTime() + 60_000_000_000L;
    while (seen.getAsInt() < n && System.nanoTime() < end) {
      LockSupport.parkNanos(5_000_000);
    }
  }

  /** Full speed to 100 streams, not recorded; returns the server's heap before any stream. */
  private static long warmUp(Child child, Recorder rec) throws Exception {
    long heap0 = value(child.command("stats").split(" "), "heap");
    try (NioSseClient warm = new NioSseClient(rec)) {
      warm.open(child.address(), "/events?topic=load", 100);
      child.command("await 100");
      child.command("rate 1000 3");
    }
    child.command("await 0");
    return heap0;
  }

  /**
   * The transport's send buffer, each value of {@code sendBuffers} in turn per round, each in a
   * fresh server JVM: the stalled-reader probe, then full speed over HTTP/1.1 and h2c.
   */
  private static void compareSendBuffers() throws Exception {
    int n = streamCounts[0];
    String[] metrics = {"h1", "h2c", "h1cpu", "h2cpu", "backlog", "stale", "current"};
    java.util.Map<String, List<Double>> values = new java.util.LinkedHashMap<>();
    List<Row> rows = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      for (int sb : sendBuffers) {
        String label = "sendBufferBytes=" + sb;
        try (Child child = new Child("jetty", Integer.toString(sb))) {
          StallProbe.Result stall =
              stallSeconds > 0
                  ? StallProbe.run(child, stallRate, stallSeconds, stallPad)
                  : new StallProbe.Result(Double.NaN, -1, Double.NaN);
          if (stallSeconds > 0) {
            System.out.printf(
                "round %d, %s: stalled latest stream: %s%n",
                round, label, StallProbe.describe(stall));
          }
          Recorder rec = new Recorder();
          long heap0 = warmUp(child, rec);
          Row h1;
          try (NioSseClient client = new NioSseClient(rec)) {
            client.open(child.address(), "/events?topic=load", n);
            String got = child.command("await " + n);
            awaitHeaders(() -> client.headersSeen.get(), n);
            h1 =
                measure(
                    rows, child, rec, label, "HTTP/1.1", n, heap0, got, client.open::get, false);
          }
          child.command("await 0");
          Row h2;
          try (H2SseClient client = new H2SseClient(rec)) {
            client.open(child.address(), "/events?topic=load", 1, n);
            String got = child.command("await " + n);
            awaitHeaders(() -> client.headersSeen.get(), n);
            h2 =
                measure(
                    rows, child, rec, label, "h2c, 1 connection", n, heap0, got, () -> n, false);
          }
          double[] v = {
            h1.deliveriesPerSec,
            h2.deliveriesPerSec,
            h1.serverCpuUsPerDelivery,
            h2.serverCpuUsPerDelivery,
            stall.backlogSeconds(),
            stall.staleBytes(),
            stall.currentMs()
          };
          for (int i = 0; i < metrics.length; i++) {
            values.computeIfAbsent(sb + " " + metrics[i], k -> new ArrayList<>()).add(v[i]);
          }
        }
      }
    }
    System.out.println();
    System.out.println(HEADER);
    rows.forEach(SseLoadBenchmark::printRow);
    System.out.println();
    System.out.println("| sendBufferBytes | metric | median | range | runs in order |");
    System.out.println("|---|---|---|---|---|");
    String[] names = {
      "full speed, HTTP/1.1, deliveries/s",
      "full speed, h2c (1 connection), deliveries/s",
      "full speed, HTTP/1.1, server CPU µs/delivery",
      "full speed, h2c (1 connection), server CPU µs/delivery",
      "stalled `latest`: backlog, s",
      "stalled `latest`: bytes read to the current value",
      "stalled `latest`: ms to the current value"
    };
    String[] formats = {"%,.0f", "%,.0f", "%.2f", "%.2f", "%.2f", "%,.0f", "%.1f"};
    for (int i = 0; i < metrics.length; i++) {
      for (int sb : sendBuffers) {
        List<Double> l = values.get(sb + " " + metrics[i]);
        if (l.stream().allMatch(x -> Double.isNaN(x) || x < 0)) {
          continue; // the stall probe was skipped
        }
        String f = formats[i];
        System.out.printf(
            Locale.ROOT,
            "| %d | %s | %s | %s – %s | %s |%n",
            sb,
            names[i],
            String.format(Locale.ROOT, f, median(l)),
            String.format(Locale.ROOT, f, java.util.Collections.min(l)),
            String.format(Locale.ROOT, f, java.util.Collections.max(l)),
            l.stream()
                .map(x -> String.format(Locale.ROOT, f, x))
                .collect(java.util.stream.Collectors.joining(", ")));
      }
    }
    if (sendBuffers.length == 2) {
      for (int i = 0; i < 4; i++) {
        System.out.printf(
            Locale.ROOT,
            "ratio of medians, %s: %d / %d = %.3f%n",
            names[i],
            sendBuffers[1],
            sendBuffers[0],
            median(values.get(sendBuffers[1] + " " + metrics[i]))
                / median(values.get(sendBuffers[0] + " " + metrics[i])));
      }
    }
  }

  private static double median(List<Double> l) {
    double[] a = l.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }

  /** Measures one configuration; returns the full-speed row. {@code paced}: 100 msg/s first. */
  private static Row measure(
      List<Row> rows,
      Child child,
      Recorder rec,
      String server,
      String transport,
      int n,
      long heap0,
      String awaited,
      java.util.function.IntSupplier clientOpen,
      boolean paced)
      throws Exception {
    String[] stats = child.command("stats").split(" ");
    long heapPerStream = (value(stats, "heap") - heap0) / n;
    // Warm-up of this configuration's code paths (h2c, many streams), not recorded.
    rec.reset();
    String warm = child.command("rate 100 2");
    drain(rec, value(warm.split(" "), "published") * n);
    int threads = (int) value(stats, "threads");
    long rss = value(stats, "rssKb") / 1024;
    System.out.printf(
        "%s %s %d streams: %s, %s%n", server, transport, n, awaited, String.join(" ", stats));

    long t0;
    String done;
    long published;
    double elapsed;
    if (paced) {
      // Paced: 100 messages/s.
      rec.reset();
      t0 = System.nanoTime();
      done = child.command("rate " + rate + " " + seconds);
      published = value(done.split(" "), "published");
      drain(rec, published * n);
      elapsed = (System.nanoTime() - t0) / 1e9;
      rows.add(
          new Row(
              server,
              transport,
              n,
              rate + " msg/s",
              rec.deliveries() / elapsed,
              (double) rate * n,
              rec.quantileMs(0.5),
              rec.quantileMs(0.99),
              heapPerStream,
              threads,
              rss,
              clientOpen.getAsInt(),
              Double.NaN));
      System.out.printf(
          Locale.ROOT,
          "  rate: %s, received %d of %d in %.1fs, p50 %.2f ms, p99 %.2f ms%n",
          done,
          rec.deliveries(),
          published * n,
          elapsed,
          rec.quantileMs(0.5),
          rec.quantileMs(0.99));
    }

    // Full speed, closed loop on what this client received.
    rec.reset();
    t0 = System.nanoTime();
    java.util.concurrent.atomic.AtomicBoolean acking =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread acker =
        new Thread(
            () -> {
              while (acking.get()) {
                child.ack(rec.deliveries());
                LockSupport.parkNanos(1_000_000);
              }
            },
            "acker");
    acker.setDaemon(true);
    long cpu0 = value(child.command("cpu").split(" "), "ns");
    acker.start();
    try {
      done = child.command("full " + seconds + " " + WINDOW);
    } finally {
      acking.set(false);
      acker.join();
    }
    published = value(done.split(" "), "published");
    drain(rec, published * n);
    elapsed = (System.nanoTime() - t0) / 1e9;
    // The server's CPU time per delivery: what other load on the machine inflates least.
    double cpuUs = (value(child.command("cpu").split(" "), "ns") - cpu0) / 1e3 / rec.deliveries();
    String[] after = child.command("stats").split(" ");
    Row full =
        new Row(
            server,
            transport,
            n,
            "full speed",
            rec.deliveries() / elapsed,
            Double.NaN,
            rec.quantileMs(0.5),
            rec.quantileMs(0.99),
            heapPerStream,
            (int) value(after, "threads"),
            value(after, "rssKb") / 1024,
            clientOpen.getAsInt(),
            cpuUs);
    rows.add(full);
    System.out.printf(
        Locale.ROOT,
        "  full: %s, received %d of %d in %.1fs, p50 %.2f ms, p99 %.2f ms; %s%n",
        done,
        rec.deliveries(),
        published * n,
        elapsed,
        rec.quantileMs(0.5),
        rec.quantileMs(0.99),
        String.join(" ", after));
    return full;
  }

  /** Waits until the client has received {@code expected} deliveries, or 30 s. */
  private static void drain(Recorder rec, long expected) {
    long end = System.nanoTime() + 30_000_000_000L;
    while (rec.deliveries() < expected && System.nanoTime() < end) {
      LockSupport.parkNanos(1_000_000);
    }
  }

  static long value(String[] fields, String name) {
    for (String f : fields) {
      if (f.startsWith(name + "=")) {
        return Long.parseLong(f.substring(name.length() + 1));
      }
    }
    throw new IllegalArgumentException(name + " not in " + String.join(" ", fields));
  }

  /** The server JVM. */
  static final class Child implements AutoCloseable {
    final Process process;
    final BufferedReader out;
    final PrintWriter in;
    final int port;

    Child(String mode, String... args) throws Exception {
      String java =
          System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
      List<String> command =
          new ArrayList<>(
              List.of(
                  java,
                  "-Xms" + serverHeap,
                  "-Xmx" + serverHeap,
                  "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                  serverJvmArg,
                  "-cp",
                  System.getProperty("java.class.path"),
                  LoadServer.class.getName(),
                  mode));
      command.addAll(List.of(args));
      process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      in =
          new PrintWriter(
              new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8), true);
      String first = out.readLine();
      while (first != null && !first.startsWith("PORT ")) {
        first = out.readLine(); // e.g. JFR's banner
      }
      if (first == null || !first.startsWith("PORT ")) {
        throw new IllegalStateException("server did not start: " + first);
      }
      port = Integer.parseInt(first.substring(5).trim());
    }

    InetSocketAddress address() {
      return new InetSocketAddress("127.0.0.1", port);
    }

    synchronized void ack(long count) {
      in.println("ack " + count);
    }

    String command(String c) throws Exception {
      synchronized (this) {
        in.println(c);
      }
      String line = out.readLine();
      if (line == null) {
        throw new IllegalStateException("server died on " + c);
      }
      return line;
    }

    @Override
    public void close() throws Exception {
      try {
        command("quit");
      } catch (Exception e) {
        // already gone
      }
      process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
      process.destroyForcibly();
    }
  }
}
