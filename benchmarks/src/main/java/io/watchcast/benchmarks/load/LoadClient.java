package io.watchcast.benchmarks.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load generator: a separate JVM holding N WebSocket client connections on one NIO selector per
 * thread (no thread per connection). Driven by {@link LoadBenchmark} over stdin/stdout:
 *
 * <pre>
 * in:  CONNECT port path n        out: CONNECTED ms
 * in:  EXPECT k                   (every connection must receive k messages)
 *                                 out: P received (about every millisecond while it changes)
 *                                 out: RESULT key=value ... (when all arrived or progress stops)
 * in:  CLOSE                      out: CLOSED
 * </pre>
 *
 * Each update's data carries {@code "t":} (the server's System.nanoTime() when it published:
 * CLOCK_MONOTONIC, shared by processes on one Linux machine) and {@code "s":} (a sequence number
 * from 1); the client checks that every connection sees 1..k in order and records the latency.
 */
public final class LoadClient {
  private static final byte[] T = "\"t\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] S = "\"s\":".getBytes(StandardCharsets.US_ASCII);

  private final int threads;
  private final List<Worker> workers = new ArrayList<>();
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private volatile int expect;

  private LoadClient(int threads) {
    this.threads = threads;
  }

  public static void main(String[] args) throws Exception {
    int threads = Integer.getInteger("client.threads", 1);
    new LoadClient(threads).run();
  }

  private void run() throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] p = line.trim().split(" ");
      switch (p[0]) {
        case "CONNECT":
          connect(Integer.parseInt(p[1]), p[2], Integer.parseInt(p[3]));
          break;
        case "EXPECT":
          expectAndReport(Integer.parseInt(p[1]));
          break;
        case "CLOSE":
          for (Worker w : workers) {
            w.shutdown();
          }
          workers.clear();
          System.out.println("CLOSED");
          System.out.flush();
          break;
        case "EXIT":
          return;
        default:
          System.out.println("ERROR unknown command " + line);
          System.out.flush();
      }
    }
  }

  private void connect(int port, String path, int n) throws Exception {
    long start = System.nanoTime();
    received.set(0);
    retries.set(0);
    CountDownLatch open = new CountDownLatch(n);
    for (int t = 0; t < threads; t++) {
      int share = n / threads + (t < n % threads ? 1 : 0);
      Worker w = new Worker(port, path, share, open, t);
      workers.add(w);
      w.start();
    }
    if (!open.await(300, TimeUnit.SECONDS)) {
      System.out.println("ERROR only " + (n - open.getCount()) + " of " + n + " connected");
    } else {
      System.out.println(
          "CONNECTED " + (System.nanoTime() - start) / 1_000_000 + " retries " + retries.get());
    }
    System.out.flush();
  }

  private void expectAndReport(int k) throws InterruptedException {
    expect = k;
    long total = 0;
    for (Worker w : workers) {
      total += (long) w.share * k;
    }
    long cpuStart = cpuNanos();
    long last = -1;
    long lastChange = System.nanoTime();
    while (received.get() < total) {
      long now = received.get();
      if (now != last) {
        last = now;
        lastChange = System.nanoTime();
        System.out.println("P " + now); // progress, for a publisher paced by the clients
        System.out.flush();
      } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(15)) {
        break; // no progress: report the loss
      }
      Thread.sleep(1);
    }
    long cpu = cpuNanos() - cpuStart;
    LatencyHistogram h = new LatencyHistogram();
    long firstPublish = Long.MAX_VALUE;
    long lastReceive = 0;
    long outOfOrder = 0;
    long closed = 0;
    long complete = 0;
    for (Worker w : workers) {
      synchronized (w) {
        h.merge(w.histogram);
        firstPublish = Math.min(firstPublish, w.firstPublish);
        lastReceive = Math.max(lastReceive, w.lastReceive);
        outOfOrder += w.outOfOrder;
        closed += w.closed.get();
        for (Conn c : w.conns) {
          if (c.next - 1 == k) {
            complete++;
          }
        }
        w.resetRun();
      }
    }
    long got = h.count();
    double seconds = (lastReceive - firstPublish) / 1e9;
    System.out.printf(
        "RESULT expected=%d received=%d loss=%d outOfOrder=%d closed=%d complete=%d"
            + " seconds=%.3f perSecond=%.0f p50us=%d p99us=%d p999us=%d maxus=%d clientCpuMs=%d%n",
        total,
        got,
        total - got,
        outOfOrder,
        closed,
        complete,
        seconds,
        got / Math.max(seconds, 1e-9),
        h.quantileMicros(0.50),
        h.quantileMicros(0.99),
        h.quantileMicros(0.999),
        h.maxMicros(),
        cpu / 1_000_000);
    System.out.flush();
    received.set(0);
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** One connection's parse state. */
  private static final class Conn {
    final SocketChannel channel;
    boolean upgraded;
    byte[] carry = new byte[0];
    int carryLength;
    long next = 1;

    Conn(SocketChannel channel) {
      this.channel = channel;
    }
  }

  private final class Worker extends Thread {
    final int port;
    final String path;
    final int share;
    final CountDownLatch open;
    final int index;
    final List<Conn> conns = new ArrayList<>();
    final AtomicInteger closed = new AtomicInteger();
    final ByteBuffer readBuffer = ByteBuffer.allocateDirect(256 * 1024);
    final byte[] scratch = new byte[256 * 1024];
    Selector selector;
    volatile boolean running = true;
    LatencyHistogram histogram = new LatencyHistogram();
    long firstPublish = Long.MAX_VALUE;
    long lastReceive;
    long outOfOrder;

    Worker(int port, String path, int share, CountDownLatch open, int index) {
      super("load-client-" + index);
      this.port = port;
      this.path = path;
      this.share = share;
      this.open = open;
      this.index = index;
      setDaemon(true);
    }

    synchronized void resetRun() {
      histogram = new LatencyHistogram();
      firstPublish = Long.MAX_VALUE;
      lastReceive = 0;
      outOfOrder = 0;
      for (Conn c : conns) {
        c.next = 1;
      }
    }

    void shutdown() throws InterruptedException {
      running = false;
      selector.wakeup();
      join(30_000);
    }

    @Override
    public void run() {
      try {
        selector = Selector.open();
        int started = 0;
        int pending = 0;
        while (running) {
          // At most 200 handshakes in flight, spread over 127.0.0.1-8 as source addresses.
          while (started < share && pending < 200) {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            int source = 1 + (started * threads + index) % 8;
            ch.bind(new InetSocketAddress("127.0.0." + source, 0));
            Conn c = new Conn(ch);
            conns.add(c);
            ch.connect(new InetSocketAddress("127.0.0.1", port));
            ch.register(selector, SelectionKey.OP_CONNECT, c);
            started++;
            pending++;
          }
          selector.select(100);
          Iterator<SelectionKey> it = selector.selectedKeys().iterator();
          while (it.hasNext()) {
            SelectionKey key = it.next();
            it.remove();
            Conn c = (Conn) key.attachment();
            try {
              if (key.isConnectable()) {
                c.channel.finishConnect();
                String req =
                    "GET "
                        + path
                        + " HTTP/1.1\r\nHost: 127.0.0.1:"
                        + port
                        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        + "Sec-WebSocket-Version: 13\r\n\r\n";
                ByteBuffer b = ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII));
                while (b.hasRemaining()) {
                  c.channel.write(b);
                }
                key.interestOps(SelectionKey.OP_READ);
              } else if (key.isReadable()) {
                boolean wasUpgraded = c.upgraded;
                if (!read(c)) {
                  key.cancel();
                  c.channel.close();
                  if (!wasUpgraded) {
                    pending--;
                    started--; // retry: open another connection in its place
                    conns.remove(c);
                    retries.incrementAndGet();
                  } else {
                    closed.incrementAndGet();
                  }
                } else if (!wasUpgraded && c.upgraded) {
                  pending--;
                  open.countDown();
                }
              }
            } catch (IOException e) {
              key.cancel();
              try {
                c.channel.close();
              } catch (IOException ignored) {
                // closing anyway
              }
              if (!c.upgraded) {
                pending--;
                started--; // retry: open another connection in its place
                conns.remove(c);
                retries.incrementAndGet();
              } else {
                closed.incrementAndGet();
              }
            }
          }
        }
        for (Conn c : conns) {
          c.channel.close();
        }
        selector.close();
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    }

    /** Reads what is there and parses it; false at end of stream. */
    private boolean read(Conn c) throws IOException {
      while (true) {
        readBuffer.clear();
        int n = c.channel.read(readBuffer);
        if (n < 0) {
          return false;
        }
        if (n == 0) {
          return true;
        }
        readBuffer.flip();
        int total = c.carryLength + n;
        byte[] data;
        if (c.carryLength == 0) {
          data = scratch;
          readBuffer.get(data, 0, n);
        } else {
          if (c.carry.length < total) {
            c.carry = java.util.Arrays.copyOf(c.carry, Math.max(total, c.carry.length * 2));
          }
          readBuffer.get(c.carry, c.carryLength, n);
          data = c.carry;
        }
        int used = parse(c, data, total);
        int left = total - used;
        if (left > 0) {
          if (c.carry.length < left) {
            c.carry = new byte[Math.max(left, 256)];
          }
          System.arraycopy(data, used, c.carry, 0, left);
        }
        c.carryLength = left;
        if (n < readBuffer.capacity()) {
          return true;
        }
      }
    }

    /** Parses complete items from data[0, len); returns how many bytes were used. */
    private int parse(Conn c, byte[] data, int len) throws IOException {
      int p = 0;
      if (!c.upgraded) {
        int end = indexOf(data, 0, len, new byte[] {'\r', '\n', '\r', '\n'});
        if (end < 0) {
          return 0;
        }
        String head = new String(data, 0, end, StandardCharsets.US_ASCII);
        if (!head.startsWith("HTTP/1.1 101")) {
          throw new IOException("handshake refused: " + head.lines().findFirst().orElse(""));
        }
        c.upgraded = true;
        p = end + 4;
      }
      long now = System.nanoTime();
      while (len - p >= 2) {
        int b0 = data[p] & 0xFF;
        int b1 = data[p + 1] & 0x7F;
        int header = 2;
        long size = b1;
        if (b1 == 126) {
          if (len - p < 4) {
            break;
          }
          size = ((data[p + 2] & 0xFF) << 8) | (data[p + 3] & 0xFF);
          header = 4;
        } else if (b1 == 127) {
          if (len - p < 10) {
            break;
          }
          size = 0;
          for (int i = 0; i < 8; i++) {
            size = (size << 8) | (data[p + 2 + i] & 0xFF);
          }
          header = 10;
        }
        if (len - p < header + size) {
          break;
        }
        int start = p + header;
        int end = (int) (start + size);
        int opcode = b0 & 0x0F;
        if (opcode == 1) {
          onText(c, data, start, end, now);
        } else if (opcode == 9) {
          pong(c, data, start, end);
        } else if (opcode == 8) {
          closed.incrementAndGet();
        }
        p = end;
      }
      return p;
    }

    private void onText(Conn c, byte[] data, int start, int end, long now) {
      // {"type":"update"...: skip snapshot and control messages
      if (end - start < 10 || data[start + 9] != 'u') {
        return;
      }
      int t = indexOf(data, start, end, T);
      int s = indexOf(data, start, end, S);
      if (t < 0 || s < 0) {
        return; // a control message (subscribed)
      }
      long sent = number(data, t + T.length, end);
      long seq = number(data, s + S.length, end);
      synchronized (this) {
        if (seq != c.next) {
          outOfOrder++;
        }
        c.next = seq + 1;
        histogram.record(now - sent);
        firstPublish = Math.min(firstPublish, sent);
        lastReceive = now;
      }
      received.incrementAndGet();
    }

    private void pong(Conn c, byte[] data, int start, int end) throws IOException {
      int n = end - start;
      ByteBuffer f = ByteBuffer.allocate(6 + n);
      f.put((byte) 0x8A).put((byte) (0x80 | n)).putInt(0); // zero mask key
      f.put(data, start, n).flip();
      while (f.hasRemaining()) {
        c.channel.write(f);
      }
    }
  }

  private static long number(byte[] data, int p, int end) {
    long v = 0;
    while (p < end && data[p] >= '0' && data[p] <= '9') {
      v = v * 10 + (data[p++] - '0');
    }
    return v;
  }

  private static int indexOf(byte[] data, int from, int to, byte[] pattern) {
    outer:
    for (int i = from; i <= to - pattern.length; i++) {
      for (int j = 0; j < pattern.length; j++) {
        if (data[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
