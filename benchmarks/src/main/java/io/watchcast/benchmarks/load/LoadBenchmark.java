package io.watchcast.benchmarks.load;

import io.watchcast.ConnectionManager;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import io.watchcast.benchmarks.LoopbackFloor;
import io.watchcast.websocket.WebSocketStats;
import io.watchcast.websocket.WebSocketTransport;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * End-to-end load benchmark of the WebSocket transport against a naive Java-WebSocket broadcast,
 * over real loopback sockets, with the load generator ({@link LoadClient}) in a separate JVM.
 *
 * <pre>
 * ./mvnw -B -q -pl benchmarks -am package -DskipTests
 * java -Xmx2g -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.load.LoadBenchmark \
 *     [clients=100,1000,10000] [quick]
 * </pre>
 *
 * For each N: N clients connect (idle heap per connection measured after a full GC), then the
 * server publishes K messages of about 200 bytes at full speed and at a fixed rate; the client JVM
 * reports deliveries per second, latency p50/p99/max (publish time in the payload, CLOCK_MONOTONIC
 * on both sides), loss and order; this JVM reports its CPU time for the run. Then the same against
 * the baseline. Results are printed as a Markdown table.
 *
 * <p>Two kinds of "as fast as it can": <b>unpaced</b> publishes K messages back to back (a burst:
 * the latency is how long the backlog takes to drain); <b>paced</b> publishes as fast as the
 * clients consume, keeping at most {@code -Dwindow=20} messages per client in flight end to end
 * (the client JVM reports its progress every millisecond), the same for both servers: throughput at
 * bounded latency. In the unpaced runs the hub's 1 MiB per-client budget may close clients that
 * fall behind, by design; the loss column then says how many messages they missed.
 *
 * <p>Send buffer, old against new in one run: {@code -Dsndbuf=auto,64k} runs Watchcast once per
 * value, {@code auto} leaving the kernel's autotuned buffer (the old behaviour) and a size setting
 * {@code WebSocketTransport.Builder.sendBufferBytes}; {@code -Drepeat=20} repeats that list, so the
 * runs alternate A/B/A/B and a machine whose load drifts affects both alike ({@code -Dwarmup=1}
 * runs one more round first, unrecorded). A summary gives each value's median and range and the
 * ratio to the first value. For example:
 *
 * <pre>
 * java -Xmx2g -Dservers=watchcast -Dmodes=full,unpaced -Dsndbuf=auto,64k -Drepeat=20 -Dwarmup=1 \
 *     -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.load.LoadBenchmark clients=1000
 * </pre>
 */
public final class LoadBenchmark {
  static final int WINDOW = Integer.getInteger("window", 20);
  // For focused runs: -Dmodes=fixed -Dservers=watchcast (the table then has only those rows).
  static final String MODES = System.getProperty("modes", "full,unpaced,fixed");
  static final String SERVERS = System.getProperty("servers", "watchcast,baseline,floor");
  // The send buffers to compare (-1: the transport's default, 0: the kernel's, autotuned).
  static final int[] SEND_BUFFERS = sendBuffers(System.getProperty("sndbuf", "default"));
  static final int REPEAT = Integer.getInteger("repeat", 1);
  // Rounds of that list run first and not recorded (JIT, first connections).
  static final int WARMUP = Integer.getInteger("warmup", 0);
  static final String PAD = "p".repeat(88);

  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final List<Map<String, String>> rows = new ArrayList<>();
  private Process client;
  private PrintWriter toClient;
  private BufferedReader fromClient;
  private final java.util.concurrent.BlockingQueue<String> lines =
      new java.util.concurrent.LinkedBlockingQueue<>();
  private final java.util.concurrent.atomic.AtomicLong progress =
      new java.util.concurrent.atomic.AtomicLong();

  public static void main(String[] args) throws Exception {
    int[] sizes = {100, 1000, 10_000};
    boolean quick = false;
    for (String a : args) {
      if (a.startsWith("clients=")) {
        String[] p = a.substring(8).split(",");
        sizes = new int[p.length];
        for (int i = 0; i < p.length; i++) {
          sizes[i] = Integer.parseInt(p[i]);
        }
      } else if (a.equals("quick")) {
        quick = true;
      }
    }
    new LoadBenchmark().run(sizes, quick);
  }

  private void run(int[] sizes, boolean quick) throws Exception {
    startClient();
    try {
      for (int n : sizes) {
        int fullK = Math.max(20, (quick ? 100_000 : 500_000) / n);
        int rate = n >= 10_000 ? 10 : 100;
        int seconds = quick ? 3 : 10;
        if (SERVERS.contains("watchcast")) {
          for (int r = -WARMUP; r < REPEAT; r++) {
            int recorded = rows.size();
            for (int sendBuffer : SEND_BUFFERS) {
              runWatchcast(n, fullK, rate, seconds, sendBuffer);
            }
            if (r < 0) {
              rows.subList(recorded, rows.size()).clear();
            }
          }
        }
        if (SERVERS.contains("baseline")) {
          runBaseline(n, fullK, rate, seconds);
        }
        if (SERVERS.contains("floor") && MODES.contains("fixed")) {
          runFloor(n, rate, seconds);
        }
      }
    } finally {
      send("EXIT");
      client.waitFor(10, TimeUnit.SECONDS);
      client.destroy();
    }
    printTable();
    printComparison();
  }

  /** {@code "auto,64k,262144"}: 0 for auto (the kernel's), bytes otherwise; "default": -1. */
  static int[] sendBuffers(String list) {
    String[] p = list.split(",");
    int[] out = new int[p.length];
    for (int i = 0; i < p.length; i++) {
      String v = p[i].trim().toLowerCase(Locale.ROOT);
      out[i] =
          v.equals("default")
              ? -1
              : v.equals("auto")
                  ? 0
                  : v.endsWith("k")
                      ? Integer.parseInt(v.substring(0, v.length() - 1)) * 1024
                      : Integer.parseInt(v);
    }
    return out;
  }

  /** The server column: "watchcast", or with the send buffer when the run compares them. */
  private static String watchcastLabel(int sendBuffer) {
    if (sendBuffer < 0) {
      return "watchcast";
    }
    return "watchcast sndbuf=" + (sendBuffer == 0 ? "auto" : (sendBuffer / 1024) + " KiB");
  }

  private void startClient() throws Exception {
    String java =
        System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    List<String> command = new ArrayList<>();
    String cpus = System.getProperty("client.cpus");
    if (cpus != null) {
      // -Dclient.cpus=1 (with the server under "taskset -c 0"): each side on cores of its own.
      command.addAll(List.of("taskset", "-c", cpus));
    }
    command.addAll(
        List.of(
            java,
            "-Xmx1g",
            "-Dclient.threads=" + Integer.getInteger("client.threads", 1),
            "-cp",
            System.getProperty("java.class.path"),
            LoadClient.class.getName()));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    client = pb.start();
    toClient = new PrintWriter(client.getOutputStream(), true, StandardCharsets.UTF_8);
    fromClient =
        new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
    Thread reader =
        new Thread(
            () -> {
              try {
                String line;
                while ((line = fromClient.readLine()) != null) {
                  if (line.startsWith("P ")) {
                    progress.set(Long.parseLong(line.substring(2)));
                  } else {
                    lines.add(line);
                  }
                }
              } catch (Exception e) {
                lines.add("ERROR " + e);
              }
            },
            "client-output");
    reader.setDaemon(true);
    reader.start();
  }

  /** Sends EXPECT and resets the progress the pacing reads. */
  private void expect(int k) {
    progress.set(0);
    send("EXPECT " + k);
  }

  /** Waits until the clients are at most {@link #WINDOW} messages each behind message {@code i}. */
  private void paceByClients(long i, int n) {
    while ((i - 1) * n - progress.get() > (long) WINDOW * n) {
      LockSupport.parkNanos(20_000);
    }
  }

  private void send(String line) {
    toClient.println(line);
    toClient.flush();
  }

  private String expectLine(String prefix) throws Exception {
    String line = lines.poll(600, TimeUnit.SECONDS);
    if (line == null || !line.startsWith(prefix)) {
      throw new IllegalStateException("client said: " + line);
    }
    return line;
  }

  private long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return memory.getHeapMemoryUsage().getUsed();
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  static String payload(long seq) {
    return "{\"t\":" + System.nanoTime() + ",\"s\":" + seq + ",\"pad\":\"" + PAD + "\"}";
  }

  static String payload(long seq, long t) {
    return "{\"t\":" + t + ",\"s\":" + seq + ",\"pad\":\"" + PAD + "\"}";
  }

  // ---------------------------------------------------------------------------------------------

  private void runWatchcast(int n, int fullK, int rate, int seconds, int sendBuffer)
      throws Exception {
    long heapBefore = heapAfterGc();
    ConnectionManager hub = ConnectionManager.builder().limits(Limits.defaults()).build();
    WebSocketTransport.Builder builder =
        WebSocketTransport.builder(hub).maxConnections(n + 100).maxConnectionsPerAddress(n + 100);
    if (sendBuffer >= 0) {
      builder.sendBufferBytes(sendBuffer);
    }
    WebSocketTransport ws = builder.build();
    String server = watchcastLabel(sendBuffer);
    ws.start();
    try {
      String topic = "load";
      send("CONNECT " + ws.port() + " /ws?topic=" + topic + " " + n);
      String connected = expectLine("CONNECTED");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (hub.topic("load").map(t -> t.subscribers()).orElse(0) < n) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("subscribers: " + hub.topic("load"));
        }
        Thread.sleep(10);
      }
      long heapConnected = heapAfterGc();
      String idle =
          idleHeap(heapBefore, heapConnected, n)
              + " (connect "
              + connected.substring(10).replace(" retries ", " ms, retries ")
              + ")";

      if (MODES.contains("full")) { // Full speed, paced by the clients' progress.
        WebSocketStats before0 = ws.stats();
        measured(
            server,
            n,
            "full speed, paced",
            fullK,
            idle,
            () -> {
              for (int i = 1; i <= fullK; i++) {
                paceByClients(i, n);
                hub.publish("load", RawJson.of(payload(i)));
              }
            },
            () -> batching(ws.stats(), before0));
      }

      if (MODES.contains("unpaced")) { // K messages as fast as publish() returns.
        topic = "load2";
        send("CLOSE");
        expectLine("CLOSED");
        send("CONNECT " + ws.port() + " /ws?topic=" + topic + " " + n);
        expectLine("CONNECTED");
        while (hub.topic(topic).map(t -> t.subscribers()).orElse(0) < n) {
          Thread.sleep(10);
        }
        WebSocketStats before2 = ws.stats();
        long slowBefore = hub.stats().slowConsumersClosed();
        String unpacedTopic = topic;
        measured(
            server,
            n,
            "unpaced",
            fullK,
            idle,
            () -> {
              for (int i = 1; i <= fullK; i++) {
                hub.publish(unpacedTopic, RawJson.of(payload(i)));
              }
            },
            () ->
                batching(ws.stats(), before2)
                    + ", slow consumers closed: "
                    + (hub.stats().slowConsumersClosed() - slowBefore));
      }

      if (MODES.contains("fixed")) {
        WebSocketStats before1 = ws.stats();
        int k = rate * seconds;
        String fixedTopic = topic;
        measured(
            server,
            n,
            rate + " msg/s",
            k,
            idle,
            () ->
                FixedRate.run(
                    k, rate, (i, due) -> hub.publish(fixedTopic, RawJson.of(payload(i, due)))),
            () -> batching(ws.stats(), before1));
      }
      send("CLOSE");
      expectLine("CLOSED");
    } finally {
      ws.close();
      hub.close();
    }
  }

  /**
   * One measured run: tells the clients to expect {@code k} messages each, publishes them, waits
   * for the clients' RESULT line and adds the row, with the server's CPU and wall time over it.
   */
  private void measured(
      String server,
      int n,
      String mode,
      int k,
      String idle,
      Runnable publishing,
      java.util.function.Supplier<String> notes)
      throws Exception {
    expect(k);
    long cpu0 = cpuNanos();
    long wall0 = System.nanoTime();
    publishing.run();
    String result = expectLine("RESULT");
    long cpu = cpuNanos() - cpu0;
    long wall = System.nanoTime() - wall0;
    row(server, n, mode, k, LoopbackFloor.parseResult(result), cpu, wall, idle, notes.get());
  }

  private static String batching(WebSocketStats now, WebSocketStats before) {
    long frames = now.framesSent() - before.framesSent();
    long writes = now.writes() - before.writes();
    return String.format(Locale.ROOT, "%.1f frames/write", frames / (double) Math.max(1, writes));
  }

  private void runBaseline(int n, int fullK, int rate, int seconds) throws Exception {
    long heapBefore = heapAfterGc();
    BaselineServer server = new BaselineServer();
    server.startAndWait();
    try {
      send("CONNECT " + server.getPort() + " / " + n);
      String connected = expectLine("CONNECTED");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (server.getConnections().size() < n) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("connections: " + server.getConnections().size());
        }
        Thread.sleep(10);
      }
      long heapConnected = heapAfterGc();
      String idle =
          idleHeap(heapBefore, heapConnected, n)
              + " (connect "
              + connected.substring(10).replace(" retries ", " ms, retries ")
              + ")";
      String envelopeHead = "{\"type\":\"update\",\"topic\":\"load\",\"data\":";

      if (MODES.contains("full")) {
        measured(
            "baseline",
            n,
            "full speed, paced",
            fullK,
            idle,
            () -> {
              for (int i = 1; i <= fullK; i++) {
                paceByClients(i, n);
                server.publish(envelope(envelopeHead, payload(i), i));
              }
            },
            () -> "");
      }

      if (MODES.contains("unpaced")) {
        measured(
            "baseline",
            n,
            "unpaced",
            fullK,
            idle,
            () -> {
              for (int i = 1; i <= fullK; i++) {
                server.publish(envelope(envelopeHead, payload(i), i));
              }
            },
            () -> "");
      }

      if (MODES.contains("fixed")) {
        int k = rate * seconds;
        measured(
            "baseline",
            n,
            rate + " msg/s",
            k,
            idle,
            () ->
                FixedRate.run(
                    k,
                    rate,
                    (i, due) -> server.publish(envelope(envelopeHead, payload(i, due), i))),
            () -> "");
      }
      send("CLOSE");
      expectLine("CLOSED");
    } finally {
      try {
        server.stop(1000);
      } catch (RuntimeException e) {
        // Java-WebSocket 1.6.0's stop() can race with its own selector shutdown
      }
    }
  }

  /**
   * The kernel's floor for the fixed-rate run ({@link LoopbackFloor}): a C program writing a
   * message of the envelope's size to each of n loopback sockets, and reading them back.
   */
  private void runFloor(int n, int rate, int seconds) throws Exception {
    int bytes =
        2 + envelope("{\"type\":\"update\",\"topic\":\"load\",\"data\":", payload(1), 1).length();
    Optional<Map<String, String>> r;
    try {
      r = LoopbackFloor.run(n, rate, seconds, bytes);
    } catch (java.io.IOException e) {
      System.err.println("The loopback floor failed, skipped: " + e);
      return;
    }
    if (r.isEmpty()) {
      return;
    }
    Map<String, String> m = r.get();
    long wall = (long) (Double.parseDouble(m.get("seconds")) * 1e9);
    row(
        "floor (C)",
        n,
        rate + " msg/s",
        rate * seconds,
        m,
        Long.parseLong(m.get("serverCpuMs")) * 1_000_000L,
        wall,
        "-",
        bytes + "-byte writes, no JVM, no framing");
  }

  /** The same envelope the hub writes (type, topic, data, timestamp, id, epoch). */
  private static String envelope(String head, String data, long id) {
    return head
        + data
        + ",\"timestamp\":"
        + System.currentTimeMillis()
        + ",\"id\":"
        + id
        + ",\"epoch\":\"k3x9ab\"}";
  }

  private static String idleHeap(long before, long after, int n) {
    long delta = after - before;
    return String.format(
        Locale.ROOT, "%.1f MB total, %.2f KB/conn", delta / 1e6, delta / 1024.0 / n);
  }

  private void row(
      String server,
      int n,
      String mode,
      int k,
      Map<String, String> result,
      long cpuNanos,
      long wallNanos,
      String idle,
      String extra) {
    Map<String, String> r = new LinkedHashMap<>();
    r.put("server", server);
    r.put("clients", Integer.toString(n));
    r.put("mode", mode);
    r.put("k", Integer.toString(k));
    r.putAll(result);
    r.put("serverCpu", String.format(Locale.ROOT, "%.2f cores", cpuNanos / (double) wallNanos));
    long deliveries = Long.parseLong(r.get("received"));
    r.put(
        "cpuPerDelivery",
        String.format(Locale.ROOT, "%.2f µs", cpuNanos / 1000.0 / Math.max(1, deliveries)));
    r.put("idleHeap", idle);
    r.put("extra", extra);
    rows.add(r);
    System.err.println(r);
  }

  private void printTable() {
    System.out.println(
        "| server | clients | mode | K | deliveries/s | p50 | p99 | max | loss | out of order |"
            + " server CPU | CPU/delivery | client CPU ms | idle heap | notes |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (Map<String, String> r : rows) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
          r.get("server"),
          r.get("clients"),
          r.get("mode"),
          r.get("k"),
          r.get("perSecond"),
          ms(r.get("p50us")),
          ms(r.get("p99us")),
          ms(r.get("maxus")),
          r.get("loss"),
          r.get("outOfOrder"),
          r.get("serverCpu"),
          r.get("cpuPerDelivery"),
          r.get("clientCpuMs"),
          r.get("idleHeap"),
          r.get("extra"));
    }
    System.out.println();
    System.out.println("Ratios (watchcast / baseline deliveries per second):");
    for (Map<String, String> w : rows) {
      if (!w.get("server").startsWith("watchcast")) {
        continue;
      }
      for (Map<String, String> b : rows) {
        if (b.get("server").equals("baseline")
            && b.get("clients").equals(w.get("clients"))
            && b.get("mode").equals(w.get("mode"))) {
          double ratio =
              Double.parseDouble(w.get("perSecond")) / Double.parseDouble(b.get("perSecond"));
          System.out.printf(
              Locale.ROOT,
              "- %s, %s clients, %s: %.2fx (p99 %s vs %s)%n",
              w.get("server"),
              w.get("clients"),
              w.get("mode"),
              ratio,
              ms(w.get("p99us")),
              ms(b.get("p99us")));
        }
        if (b.get("server").startsWith("floor")
            && b.get("clients").equals(w.get("clients"))
            && b.get("mode").equals(w.get("mode"))) {
          System.out.printf(
              Locale.ROOT,
              "- %s clients, %s: p99 %s against the kernel floor's %s (C, same run)%n",
              w.get("clients"),
              w.get("mode"),
              ms(w.get("p99us")),
              ms(b.get("p99us")));
        }
      }
    }
  }

  /**
   * With several send buffers or repeats: per clients and mode, each Watchcast setting's median
   * deliveries/s and p99 with their ranges, and the ratio to the first setting (of the medians, and
   * the range of the per-round ratios, A/B/A/B runs paired in order).
   */
  private void printComparison() {
    if (SEND_BUFFERS.length < 2 && REPEAT < 2) {
      return;
    }
    Map<String, Map<String, List<Map<String, String>>>> groups = new LinkedHashMap<>();
    for (Map<String, String> r : rows) {
      if (r.get("server").startsWith("watchcast")) {
        groups
            .computeIfAbsent(
                r.get("clients") + " clients, " + r.get("mode"), k -> new LinkedHashMap<>())
            .computeIfAbsent(r.get("server"), k -> new ArrayList<>())
            .add(r);
      }
    }
    System.out.println();
    System.out.println(
        "| clients, mode | server | runs | deliveries/s median (min–max) | p99 median (min–max) |"
            + " server CPU/delivery median (min–max) | ratio of medians | per-round ratio median"
            + " (min–max) |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    groups.forEach(
        (group, byServer) -> {
          List<Map<String, String>> reference = byServer.values().iterator().next();
          byServer.forEach(
              (server, runs) -> {
                double[] rate = column(runs, "perSecond");
                double[] p99 = column(runs, "p99us");
                double[] cpu =
                    runs.stream()
                        .mapToDouble(r -> Double.parseDouble(r.get("cpuPerDelivery").split(" ")[0]))
                        .toArray();
                double[] refRate = column(reference, "perSecond");
                int pairs = Math.min(runs.size(), reference.size());
                double[] ratios = new double[pairs];
                for (int i = 0; i < pairs; i++) {
                  ratios[i] = rate[i] / refRate[i];
                }
                System.out.printf(
                    Locale.ROOT,
                    "| %s | %s | %d | %.0f (%.0f–%.0f) | %.1f ms (%.1f–%.1f) | %.2f µs (%.2f–%.2f) |"
                        + " %.3f | %.3f (%.3f–%.3f) |%n",
                    group,
                    server,
                    runs.size(),
                    median(rate),
                    min(rate),
                    max(rate),
                    median(p99) / 1000,
                    min(p99) / 1000,
                    max(p99) / 1000,
                    median(cpu),
                    min(cpu),
                    max(cpu),
                    median(rate) / median(refRate),
                    median(ratios),
                    min(ratios),
                    max(ratios));
              });
        });
  }

  private static double[] column(List<Map<String, String>> runs, String key) {
    return runs.stream().mapToDouble(r -> Double.parseDouble(r.get(key))).toArray();
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    java.util.Arrays.sort(s);
    int m = s.length / 2;
    return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  private static double min(double[] v) {
    return java.util.Arrays.stream(v).min().orElse(Double.NaN);
  }

  private static double max(double[] v) {
    return java.util.Arrays.stream(v).max().orElse(Double.NaN);
  }

  private static String ms(String micros) {
    return String.format(Locale.ROOT, "%.2f ms", Long.parseLong(micros) / 1000.0);
  }
}
