package io.watchcast.benchmarks.load;

import io.watchcast.ConnectionManager;
import io.watchcast.RawJson;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import io.watchcast.websocket.WebSocketTransport;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client that stops reading, measured from outside (issue 14, items 3 and 6): two raw WebSocket
 * clients with a 64 KiB receive buffer, one on a {@code latest} topic and one on a plain topic,
 * each on its own hub and transport, stop reading right after subscribing while 200 messages of
 * about 700 bytes a second flow on each topic; after the stall both read again.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.load.StallProbe \
 *     [-Dsndbuf=auto,64k] [-Drepeat=2] [-Dstall=30] [-Drate=200] [-Dbytes=700]
 * </pre>
 *
 * Per run (the send buffers alternate, {@code auto} being the kernel's autotuned buffer): when the
 * hub began to conflate for the {@code latest} client (the kernel's buffers were full) and when it
 * closed the other one as a slow consumer, seconds into the stall; then, once they read again, how
 * old the {@code latest} client's first message was, how many bytes and messages it read before a
 * value as new as the newest at that moment and how long that took; and for the other client, what
 * it saw at the end (close 1008, EOF, a reset, or every message if it was not closed), after how
 * many bytes and how long.
 */
public final class StallProbe {
  private static final int RECEIVE_BUFFER = 64 * 1024;
  private static final Pattern ID = Pattern.compile("\"id\":(\\d+)");
  private static final Pattern SENT = Pattern.compile("\"t\":(\\d+)");

  public static void main(String[] args) throws Exception {
    int[] sendBuffers = LoadBenchmark.sendBuffers(System.getProperty("sndbuf", "auto,64k"));
    int repeat = Integer.getInteger("repeat", 2);
    int stallSeconds = Integer.getInteger("stall", 30);
    int rate = Integer.getInteger("rate", 200);
    int bytes = Integer.getInteger("bytes", 700);
    System.out.printf(
        Locale.ROOT,
        "JDK %s, %d cores; stall %d s, %d msg/s of %d bytes per topic, client SO_RCVBUF %d%n%n",
        System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors(),
        stallSeconds,
        rate,
        bytes,
        RECEIVE_BUFFER);
    System.out.println(
        "| sndbuf | latest: conflated after | first message's age | read before current |"
            + " current after | plain: closed after | then read | saw | end after |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    for (int r = 0; r < repeat; r++) {
      for (int sendBuffer : sendBuffers) {
        System.out.println(run(sendBuffer, stallSeconds, rate, bytes));
      }
    }
  }

  private static String run(int sendBuffer, int stallSeconds, int rate, int bytes)
      throws Exception {
    ConnectionManager latestHub =
        ConnectionManager.builder()
            .topic("state", TopicOptions.of(Throttle.latest(Duration.ofMillis(1))))
            .build();
    ConnectionManager plainHub = ConnectionManager.builder().build();
    try (WebSocketTransport latestWs = transport(latestHub, sendBuffer);
        WebSocketTransport plainWs = transport(plainHub, sendBuffer);
        Client latest = new Client(latestWs.port(), "state");
        Client plain = new Client(plainWs.port(), "feed")) {
      String pad = "p".repeat(Math.max(0, bytes - 150)); // the envelope adds about 150 bytes
      long start = System.nanoTime();
      long end = start + Duration.ofSeconds(stallSeconds).toNanos();
      long period = 1_000_000_000L / rate;
      double closedAt = Double.NaN;
      for (long i = 1, next = start; System.nanoTime() < end; i++, next += period) {
        LockSupport.parkNanos(next - System.nanoTime());
        String data = "{\"t\":" + System.nanoTime() + ",\"i\":" + i + ",\"pad\":\"" + pad + "\"}";
        latestHub.publish("state", RawJson.of(data));
        plainHub.publish("feed", RawJson.of(data));
        if (Double.isNaN(closedAt) && plainHub.stats().slowConsumersClosed() > 0) {
          closedAt = (System.nanoTime() - start) / 1e9;
        }
      }
      long newest = latestHub.topic("state").orElseThrow().id();
      long last = plainHub.topic("feed").orElseThrow().id();
      long resumed = System.nanoTime();
      CompletableFuture<String> plainEnd =
          CompletableFuture.supplyAsync(() -> plain.readToEnd(last));
      String latestRead = latest.readUntil(newest, start, resumed);
      return String.format(
          Locale.ROOT,
          "| %s | %s | %s |",
          sendBuffer == 0 ? "auto" : (sendBuffer / 1024) + " KiB",
          latestRead,
          (Double.isNaN(closedAt) ? "never" : String.format(Locale.ROOT, "%.1f s", closedAt))
              + " | "
              + plainEnd.get());
    } finally {
      latestHub.close();
      plainHub.close();
    }
  }

  private static WebSocketTransport transport(ConnectionManager hub, int sendBuffer)
      throws IOException {
    WebSocketTransport ws = WebSocketTransport.builder(hub).sendBufferBytes(sendBuffer).build();
    ws.start();
    return ws;
  }

  /** A WebSocket client on a plain socket with a small receive buffer; it reads only when told. */
  private static final class Client implements AutoCloseable {
    private final Socket socket = new Socket();
    private final DataInputStream in;
    private long bytes;

    Client(int port, String topic) throws IOException {
      socket.setReceiveBufferSize(RECEIVE_BUFFER);
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(60_000);
      in = new DataInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET /ws?topic="
                  + topic
                  + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      for (int matched = 0; matched < 4; ) { // the response head, up to its blank line
        int c = in.read();
        if (c < 0) {
          throw new EOFException("no handshake response");
        }
        matched = c == "\r\n\r\n".charAt(matched) ? matched + 1 : c == '\r' ? 1 : 0;
      }
      frame(); // "subscribed"
      bytes = 0;
    }

    private record Frame(int opcode, byte[] payload) {
      String text() {
        return new String(payload, StandardCharsets.UTF_8);
      }
    }

    /** The next frame; counts its bytes. */
    private Frame frame() throws IOException {
      int opcode = in.readUnsignedByte() & 0x0F;
      long n = in.readUnsignedByte() & 0x7F;
      bytes += 2;
      if (n == 126) {
        n = in.readUnsignedShort();
        bytes += 2;
      } else if (n == 127) {
        n = in.readLong();
        bytes += 8;
      }
      byte[] payload = new byte[(int) n];
      in.readFully(payload);
      bytes += n;
      return new Frame(opcode, payload);
    }

    /**
     * Reads until an update with id at least {@code newest}. Reports when the hub began to conflate
     * for good (the publish time, from {@code start}, of the update before the largest gap in the
     * ids: the kernel's buffers were full), the first update's age, what it read before the newest
     * and how long that took.
     */
    String readUntil(long newest, long start, long resumed) {
      try {
        double firstAge = Double.NaN;
        double conflatedAt = Double.NaN;
        long largestGap = 0;
        long messages = 0;
        long previousId = 0;
        long previousSent = 0;
        while (true) {
          long before = bytes;
          Frame f = frame();
          Matcher id = ID.matcher(f.text());
          Matcher sent = SENT.matcher(f.text());
          if (f.opcode() != 1 || !id.find() || !sent.find()) {
            continue;
          }
          long i = Long.parseLong(id.group(1));
          long t = Long.parseLong(sent.group(1));
          if (Double.isNaN(firstAge)) {
            firstAge = (System.nanoTime() - t) / 1e9;
          } else if (i - previousId - 1 > largestGap) {
            largestGap = i - previousId - 1;
            conflatedAt = (previousSent - start) / 1e9;
          }
          if (i >= newest) {
            return String.format(
                Locale.ROOT,
                "%s | %.1f s | %d messages, %d bytes | %.1f ms",
                Double.isNaN(conflatedAt)
                    ? "never"
                    : String.format(Locale.ROOT, "%.1f s", conflatedAt),
                firstAge,
                messages,
                before,
                (System.nanoTime() - resumed) / 1e6);
          }
          previousId = i;
          previousSent = t;
          messages++;
        }
      } catch (IOException e) {
        return "failed: " + e + " | | | ";
      }
    }

    /**
     * Reads to the end of the connection, or to update {@code last} if it was not closed: what it
     * saw, after how many bytes and how long.
     */
    String readToEnd(long last) {
      long resumed = System.nanoTime();
      String saw;
      try {
        while (true) {
          Frame f = frame();
          if (f.opcode() == 8) {
            saw = "close " + (((f.payload()[0] & 0xFF) << 8) | (f.payload()[1] & 0xFF));
            break;
          }
          Matcher id = ID.matcher(f.text());
          if (f.opcode() == 1 && id.find() && Long.parseLong(id.group(1)) >= last) {
            saw = "all, not closed";
            break;
          }
        }
      } catch (EOFException e) {
        saw = "EOF";
      } catch (SocketException e) {
        saw = e.getMessage().contains("reset") ? "reset" : e.toString();
      } catch (IOException e) {
        saw = e.toString();
      }
      return String.format(
          Locale.ROOT, "%d bytes | %s | %.1f ms", bytes, saw, (System.nanoTime() - resumed) / 1e6);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
