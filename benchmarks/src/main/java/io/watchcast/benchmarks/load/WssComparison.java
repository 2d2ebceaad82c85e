package io.watchcast.benchmarks.load;

import io.watchcast.ConnectionManager;
import io.watchcast.RawJson;
import io.watchcast.testing.SelfSignedTls;
import io.watchcast.websocket.WebSocketTransport;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What TLS costs the WebSocket transport: the same server and the same clients, over {@code ws:}
 * and then over {@code wss:} ({@code tls(SSLContext)}, a keytool-made certificate). The clients are
 * the JDK's own WebSocket client (it speaks TLS; the NIO load generator does not). This one JVM
 * holds the server and the clients, so the figures compare the two schemes with each other, not
 * with {@link LoadBenchmark}'s.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.load.WssComparison \
 *     [clients=500] [seconds=8] [rate=50] [burst=200]
 * </pre>
 *
 * Per scheme: a fixed-rate run ({@code rate} messages/s, latency from the intended publish time),
 * then a burst of {@code burst} messages published back to back (deliveries per second until the
 * last arrives). Every client must see 1..k in order; loss and disorder are reported.
 */
public final class WssComparison {

  public static void main(String[] args) throws Exception {
    int clients = 500;
    int seconds = 8;
    int rate = 50;
    int burst = 200;
    for (String a : args) {
      String[] kv = a.split("=", 2);
      switch (kv[0]) {
        case "clients" -> clients = Integer.parseInt(kv[1]);
        case "seconds" -> seconds = Integer.parseInt(kv[1]);
        case "rate" -> rate = Integer.parseInt(kv[1]);
        case "burst" -> burst = Integer.parseInt(kv[1]);
        default -> throw new IllegalArgumentException("unknown option " + a);
      }
    }
    SelfSignedTls tls = SelfSignedTls.create(Files.createTempDirectory("watchcast-wss"));
    System.out.printf(
        "JDK %s, %d cores, %d clients%n",
        System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), clients);
    System.out.println(
        "| scheme | load | deliveries/s | p50 | p99 | max | loss | out of order | process CPU per"
            + " delivery |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    for (int round = 0; round < 2; round++) { // the first round warms both paths up, unrecorded
      for (boolean secure : new boolean[] {false, true}) {
        run(secure ? tls : null, clients, seconds, rate, burst, round == 1);
      }
    }
  }

  private static void run(SelfSignedTls tls, int n, int seconds, int rate, int burst, boolean print)
      throws Exception {
    ConnectionManager hub = ConnectionManager.builder().build();
    WebSocketTransport.Builder b =
        WebSocketTransport.builder(hub).maxConnections(n + 10).maxConnectionsPerAddress(n + 10);
    if (tls != null) {
      b.tls(tls.server);
    }
    WebSocketTransport ws = b.build();
    ws.start();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    HttpClient.Builder hb = HttpClient.newBuilder().executor(pool);
    if (tls != null) {
      hb.sslContext(tls.client);
    }
    HttpClient http = hb.build();
    String scheme = tls == null ? "ws" : "wss";
    List<Client> clients = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        Client c = new Client();
        http.newWebSocketBuilder()
            .buildAsync(URI.create(scheme + "://localhost:" + ws.port() + "/ws?topic=load"), c)
            .get(30, TimeUnit.SECONDS);
        clients.add(c);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (hub.topic("load").map(t -> t.subscribers()).orElse(0) < n) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("not all subscribed");
        }
        Thread.sleep(10);
      }
      String pad = "x".repeat(150);

      // Fixed rate.
      int k = rate * seconds;
      reset(clients);
      long cpu0 = cpu();
      long start =
          FixedRate.run(
              k,
              rate,
              (i, due) ->
                  hub.publish(
                      "load",
                      RawJson.of("{\"t\":" + due + ",\"s\":" + i + ",\"p\":\"" + pad + "\"}")));
      long wall = awaitAll(clients, k);
      report(print, scheme, rate + " msg/s", clients, k, cpu() - cpu0, wall - start);

      // Burst.
      reset(clients);
      cpu0 = cpu();
      long t0 = System.nanoTime();
      for (int i = 1; i <= burst; i++) {
        hub.publish(
            "load",
            RawJson.of("{\"t\":" + System.nanoTime() + ",\"s\":" + i + ",\"p\":\"" + pad + "\"}"));
      }
      wall = awaitAll(clients, burst);
      report(print, scheme, "burst of " + burst, clients, burst, cpu() - cpu0, wall - t0);
    } finally {
      for (Client c : clients) {
        c.socket.abort();
      }
      ws.close();
      hub.close();
      pool.shutdownNow();
    }
  }

  private static void reset(List<Client> clients) {
    for (Client c : clients) {
      synchronized (c) {
        c.next = 1;
        c.histogram = new LatencyHistogram();
        c.outOfOrder = 0;
      }
    }
  }

  /** Waits until every client has k updates (or progress stops for 15 s); the time of the last. */
  private static long awaitAll(List<Client> clients, int k) throws InterruptedException {
    long total = (long) clients.size() * k;
    long last = -1;
    long lastChange = System.nanoTime();
    while (true) {
      long got = 0;
      for (Client c : clients) {
        got += c.count();
      }
      if (got >= total) {
        break;
      }
      if (got != last) {
        last = got;
        lastChange = System.nanoTime();
      } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(15)) {
        break;
      }
      Thread.sleep(1);
    }
    long end = 0;
    for (Client c : clients) {
      end = Math.max(end, c.lastReceive.get());
    }
    return end;
  }

  private static void report(
      boolean print,
      String scheme,
      String load,
      List<Client> clients,
      int k,
      long cpuNanos,
      long wallNanos) {
    LatencyHistogram h = new LatencyHistogram();
    long outOfOrder = 0;
    for (Client c : clients) {
      synchronized (c) {
        h.merge(c.histogram);
        outOfOrder += c.outOfOrder;
      }
    }
    long expected = (long) clients.size() * k;
    if (!print) {
      return;
    }
    System.out.printf(
        Locale.ROOT,
        "| %s | %s | %,.0f | %.2f ms | %.2f ms | %.2f ms | %d | %d | %.2f µs |%n",
        scheme,
        load,
        h.count() / (wallNanos / 1e9),
        h.quantileMicros(0.5) / 1000.0,
        h.quantileMicros(0.99) / 1000.0,
        h.maxMicros() / 1000.0,
        expected - h.count(),
        outOfOrder,
        cpuNanos / 1000.0 / Math.max(1, h.count()));
  }

  private static long cpu() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** One client: checks the order of "s" and records the latency from "t". */
  private static final class Client implements WebSocket.Listener {
    volatile WebSocket socket;
    final AtomicLong lastReceive = new AtomicLong();
    private final StringBuilder partial = new StringBuilder();
    long next = 1;
    long outOfOrder;
    LatencyHistogram histogram = new LatencyHistogram();

    synchronized long count() {
      return histogram.count();
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      socket = webSocket;
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        int t = text.indexOf("\"t\":");
        int s = text.indexOf("\"s\":");
        if (text.startsWith("{\"type\":\"update\"") && t >= 0 && s >= 0) {
          long now = System.nanoTime();
          long sent = number(text, t + 4);
          long seq = number(text, s + 4);
          synchronized (this) {
            if (seq != next) {
              outOfOrder++;
            }
            next = seq + 1;
            histogram.record(now - sent);
          }
          lastReceive.set(now);
        }
      }
      webSocket.request(1);
      return null;
    }

    private static long number(String text, int p) {
      long v = 0;
      while (p < text.length() && Character.isDigit(text.charAt(p))) {
        v = v * 10 + (text.charAt(p++) - '0');
      }
      return v;
    }
  }
}
