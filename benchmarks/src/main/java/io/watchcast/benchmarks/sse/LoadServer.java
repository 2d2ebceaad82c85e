package io.watchcast.benchmarks.sse;

import com.sun.net.httpserver.HttpServer;
import io.watchcast.ConnectionManager;
import io.watchcast.RawJson;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import io.watchcast.sse.SseTransport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The server side of the SSE load benchmark, run in its own JVM by {@link SseLoadBenchmark} so that
 * its heap, threads and RSS are its own. {@code jetty}: watchcast-transport-sse. {@code jdk}: the
 * baseline, a thread-per-stream {@code com.sun.net.httpserver} handler that writes each event to
 * each stream. Commands on stdin, one answer line on stdout each.
 *
 * <p>Arguments: the mode, then for {@code jetty} optionally the transport's {@code sendBufferBytes}
 * (absent: its default). Topics: {@code load} (every message delivered) and {@code state} ({@code
 * latest} with a 1 ms window, for the stalled-reader probe).
 */
public final class LoadServer {
  private static final String PAD = "x".repeat(64);
  private static final AtomicLong ACKED = new AtomicLong();
  private static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);

  interface Target extends AutoCloseable {
    int port();

    int streams();

    long delivered();

    void publish(String topic, byte[] data);

    @Override
    void close();
  }

  public static void main(String[] args) throws Exception {
    Target target =
        switch (args[0]) {
          case "jetty" -> jetty(null, args.length > 1 ? Integer.valueOf(args[1]) : null);
          case "jetty-tls" -> jetty(selfSigned(), null);
          default -> jdk();
        };
    System.out.println("PORT " + target.port());
    System.out.flush();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    BlockingQueue<String> commands = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try {
                String l;
                while ((l = in.readLine()) != null) {
                  if (l.startsWith("ack ")) {
                    ACKED.set(Long.parseLong(l.substring(4).trim()));
                  } else {
                    commands.add(l);
                  }
                }
              } catch (Exception e) {
                // parent gone
              }
              commands.add("quit");
            },
            "stdin");
    reader.setDaemon(true);
    reader.start();
    String line;
    while ((line = commands.take()) != null) {
      String[] c = line.trim().split(" ");
      switch (c[0]) {
        case "await" -> {
          int n = Integer.parseInt(c[1]);
          long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
          while (target.streams() != n && System.nanoTime() < end) {
            LockSupport.parkNanos(5_000_000);
          }
          System.out.println("STREAMS " + target.streams());
        }
        case "stats" -> {
          for (int i = 0; i < 3; i++) {
            System.gc();
            LockSupport.parkNanos(100_000_000);
          }
          Runtime rt = Runtime.getRuntime();
          long heap = rt.totalMemory() - rt.freeMemory();
          int threads = ManagementFactory.getThreadMXBean().getThreadCount();
          System.out.println(
              "STATS heap="
                  + heap
                  + " threads="
                  + threads
                  + " rssKb="
                  + rssKb()
                  + " streams="
                  + target.streams());
        }
        case "rate" -> {
          // rate <messages/s> <seconds> [topic [padBytes]]
          int rate = Integer.parseInt(c[1]);
          double seconds = Double.parseDouble(c[2]);
          String topic = c.length > 3 ? c[3] : "load";
          String pad = c.length > 4 ? "x".repeat(Integer.parseInt(c[4])) : PAD;
          long period = 1_000_000_000L / rate;
          long start = System.nanoTime();
          long end = start + (long) (seconds * 1e9);
          long published = 0;
          long d0 = target.delivered();
          for (long next = start; next < end; next += period) {
            long wait = next - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(wait);
            }
            target.publish(topic, payload(pad));
            published++;
          }
          System.out.println(
              "DONE published=" + published + " serverDelivered=" + (target.delivered() - d0));
        }
        case "full" -> {
          double seconds = Double.parseDouble(c[1]);
          int window = Integer.parseInt(c[2]);
          int n = Math.max(1, target.streams());
          ACKED.set(0);
          long end = System.nanoTime() + (long) (seconds * 1e9);
          long d0 = target.delivered();
          long published = 0;
          while (System.nanoTime() < end) {
            // Closed loop on what the client has received (it acks its count every millisecond):
            // at most `window` messages per stream in flight, server queues and sockets included.
            while (published * n - ACKED.get() > (long) window * n && System.nanoTime() < end) {
              LockSupport.parkNanos(20_000);
            }
            target.publish("load", payload(PAD));
            published++;
          }
          System.out.println(
              "DONE published=" + published + " serverDelivered=" + (target.delivered() - d0));
        }
        case "cpu" -> {
          var os =
              (com.sun.management.OperatingSystemMXBean)
                  ManagementFactory.getOperatingSystemMXBean();
          System.out.println("CPU ns=" + os.getProcessCpuTime());
        }
        case "quit" -> {
          target.close();
          System.out.println("BYE");
          System.out.flush();
          System.exit(0);
        }
        default -> System.out.println("ERR unknown command " + line);
      }
      System.out.flush();
    }
    target.close();
  }

  static byte[] payload(String pad) {
    return ("{\"t\":" + System.nanoTime() + ",\"p\":\"" + pad + "\"}")
        .getBytes(StandardCharsets.US_ASCII);
  }

  static long rssKb() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.replaceAll("[^0-9]", ""));
        }
      }
    } catch (Exception e) {
      // not Linux
    }
    return -1;
  }

  /** A key and self-signed certificate for 127.0.0.1, made by the JDK's keytool. */
  static javax.net.ssl.SSLContext selfSigned() throws Exception {
    return io.watchcast.testing.SelfSignedTls.create(
            java.nio.file.Files.createTempDirectory("watchcast-tls"))
        .server;
  }

  static Target jetty(javax.net.ssl.SSLContext tls, Integer sendBufferBytes) throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder()
            .topic("state", TopicOptions.of(Throttle.latest(Duration.ofMillis(1))))
            .build();
    SseTransport.Builder b =
        SseTransport.builder(hub)
            .maxStreams(50_000)
            .http2MaxStreams(2_000)
            .heartbeat(Duration.ofSeconds(1));
    if (tls != null) {
      b.tls(tls);
    }
    if (sendBufferBytes != null) {
      b.sendBufferBytes(sendBufferBytes);
    }
    SseTransport sse = b.build().start();
    return new Target() {
      @Override
      public int port() {
        return sse.port();
      }

      @Override
      public int streams() {
        return sse.streamCount();
      }

      @Override
      public long delivered() {
        return hub.stats().delivered();
      }

      @Override
      public void publish(String topic, byte[] data) {
        hub.publish(topic, new RawJson(data));
      }

      @Override
      public void close() {
        sse.close();
        hub.close();
      }
    };
  }

  /** The baseline: JDK HttpServer, one thread per stream blocking on its queue and its socket. */
  static Target jdk() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 20_000);
    ExecutorService threads = Executors.newCachedThreadPool();
    server.setExecutor(threads);
    Set<BlockingQueue<byte[]>> streams = ConcurrentHashMap.newKeySet();
    LongAdder written = new LongAdder();
    AtomicLong ids = new AtomicLong();
    server.createContext(
        "/events",
        exchange -> {
          exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
          exchange.getResponseHeaders().set("Cache-Control", "no-cache");
          exchange.sendResponseHeaders(200, 0);
          BlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(
                "retry: 3000\n\nevent: subscribed\ndata: {}\n\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            streams.add(queue);
            while (true) {
              byte[] event = queue.take();
              out.write(event);
              out.flush();
              if (event != PING) {
                written.increment();
              }
            }
          } catch (Exception e) {
            // client gone
          } finally {
            streams.remove(queue);
            exchange.close();
          }
        });
    server.start();
    // A heartbeat, as any SSE server needs; also how a blocked-on-queue thread finds a gone client.
    Thread heartbeat =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                LockSupport.parkNanos(1_000_000_000L);
                for (BlockingQueue<byte[]> q : streams) {
                  if (q.isEmpty()) {
                    q.offer(PING);
                  }
                }
              }
            },
            "heartbeat");
    heartbeat.setDaemon(true);
    heartbeat.start();
    return new Target() {
      @Override
      public int port() {
        return server.getAddress().getPort();
      }

      @Override
      public int streams() {
        return streams.size();
      }

      @Override
      public long delivered() {
        return written.sum();
      }

      @Override
      public void publish(String topic, byte[] data) {
        // The same envelope and SSE framing as the transport, built once per publish.
        long id = ids.incrementAndGet();
        String json =
            "{\"type\":\"update\",\"topic\":\"load\",\"data\":"
                + new String(data, StandardCharsets.US_ASCII)
                + ",\"timestamp\":"
                + System.currentTimeMillis()
                + ",\"id\":"
                + id
                + ",\"epoch\":\"base\"}";
        byte[] event =
            ("id: load~base~" + id + "\nevent: update\ndata: " + json + "\n\n")
                .getBytes(StandardCharsets.US_ASCII);
        for (BlockingQueue<byte[]> q : streams) {
          q.offer(event);
        }
      }

      @Override
      public void close() {
        server.stop(0);
        threads.shutdownNow();
      }
    };
  }
}
