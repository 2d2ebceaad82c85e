package io.watchcast.benchmarks.sse;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A stalled {@code latest} stream, measured from outside as issue 14 did: one HTTP/1.1 stream with
 * a 64 KiB receive buffer reads the server's {@code state} topic (a {@code latest} throttle) while
 * it is published at a fixed rate, stops reading for a while, then reads again. What it reads
 * before the value that was current when it resumed is the backlog the kernel absorbed before the
 * hub's conflation applied.
 */
final class StallProbe {

  /**
   * @param backlogSeconds how long after the stall began the last old value read after resuming was
   *     published: how long the kernel (and the write in flight) took values before the hub began
   *     to conflate
   * @param staleBytes bytes read after resuming, up to and including the current value
   * @param currentMs time from resuming to reading the current value
   */
  record Result(double backlogSeconds, long staleBytes, double currentMs) {}

  private StallProbe() {}

  /**
   * Publishes {@code padBytes}-byte values on {@code state} at {@code rate}/s; the stream reads for
   * 2 s, stalls for {@code stallSeconds}, then reads to the current value.
   */
  static Result run(SseLoadBenchmark.Child child, int rate, double stallSeconds, int padBytes)
      throws Exception {
    double publishSeconds = 2 + stallSeconds + 3;
    try (Socket socket = new Socket()) {
      socket.setReceiveBufferSize(64 * 1024);
      socket.connect(child.address(), 5000);
      socket.setSoTimeout(20_000);
      socket
          .getOutputStream()
          .write(
              "GET /events?topic=state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      child.command("await 1");
      CompletableFuture<String> publishing =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return child.command(
                      "rate " + rate + " " + publishSeconds + " state " + padBytes);
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      InputStream in = socket.getInputStream();
      byte[] buf = new byte[1 << 16];
      long readUntil = System.nanoTime() + 2_000_000_000L;
      while (System.nanoTime() < readUntil) {
        if (in.read(buf) < 0) {
          throw new IOException("the stream ended before the stall");
        }
      }
      long stallStart = System.nanoTime();
      Thread.sleep((long) (stallSeconds * 1000)); // the stall itself: the client reads nothing
      long resumed = System.nanoTime();
      long current = resumed - 1_000_000_000L / rate; // published at most one period before
      long[] lastStale = {-1};
      long[] found = {-1};
      long bytes = 0;
      Recorder.Scanner scanner = new Recorder.Scanner();
      while (found[0] < 0) {
        int n = in.read(buf, 0, 1024); // small reads: the count is exact to 1 KiB
        if (n < 0) {
          throw new IOException("the stream ended after " + bytes + " bytes after the stall");
        }
        long now = System.nanoTime();
        bytes += n;
        scanner.scan(
            t -> {
              if (found[0] >= 0) {
                return;
              }
              if (t >= current) {
                found[0] = now;
              } else {
                lastStale[0] = t;
              }
            },
            ByteBuffer.wrap(buf),
            0,
            n);
      }
      publishing.get((long) publishSeconds + 30, TimeUnit.SECONDS);
      double backlog = lastStale[0] < 0 ? 0 : (lastStale[0] - stallStart) / 1e9;
      return new Result(backlog, bytes, (found[0] - resumed) / 1e6);
    }
  }

  static String describe(Result r) {
    return String.format(
        java.util.Locale.ROOT,
        "backlog %.2f s, %,d bytes read up to the current value, after %.1f ms",
        r.backlogSeconds(),
        r.staleBytes(),
        r.currentMs());
  }
}
