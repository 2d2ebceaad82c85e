package io.watchcast.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The kernel's floor for a fixed-rate fan-out, run beside the Java servers in the load benchmarks:
 * {@code loopback-floor.c} (a resource of this module) compiled with the machine's {@code gcc}
 * sends each message to each of N loopback TCP sockets with one {@code write} and reads them back
 * through epoll, with no JVM and no framing. A server that writes each message to each connection
 * with its own system call cannot do better than this on the same machine.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.LoopbackFloor \
 *     [clients=1000] [rate=100] [seconds=10] [bytes=256] [runs=3]
 * </pre>
 */
public final class LoopbackFloor {
  private static Path binary;
  private static boolean unavailable;

  private LoopbackFloor() {}

  public static void main(String[] args) throws Exception {
    int clients = 1000;
    int rate = 100;
    int seconds = 10;
    int bytes = 256;
    int runs = 3;
    for (String a : args) {
      String[] kv = a.split("=", 2);
      switch (kv[0]) {
        case "clients" -> clients = Integer.parseInt(kv[1]);
        case "rate" -> rate = Integer.parseInt(kv[1]);
        case "seconds" -> seconds = Integer.parseInt(kv[1]);
        case "bytes" -> bytes = Integer.parseInt(kv[1]);
        case "runs" -> runs = Integer.parseInt(kv[1]);
        default -> throw new IllegalArgumentException("unknown option " + a);
      }
    }
    for (int i = 0; i < runs; i++) {
      System.out.println(run(clients, rate, seconds, bytes).orElse(Map.of()));
    }
  }

  /**
   * Runs the floor once; the result has the load generators' keys ({@code received}, {@code p50us},
   * {@code p99us}, {@code maxus}, ...) plus {@code serverCpuMs} (the writer thread). Empty if there
   * is no {@code gcc} on this machine (a line on stderr says so).
   */
  public static synchronized Optional<Map<String, String>> run(
      int clients, int rate, int seconds, int messageBytes)
      throws IOException, InterruptedException {
    if (unavailable) {
      return Optional.empty();
    }
    if (binary == null) {
      binary = compile();
      if (binary == null) {
        unavailable = true; // no gcc: say so once
        return Optional.empty();
      }
    }
    Process p =
        new ProcessBuilder(
                binary.toString(),
                Integer.toString(clients),
                Integer.toString(rate),
                Integer.toString(seconds),
                Integer.toString(messageBytes))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    String result = null;
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("RESULT ")) {
          result = line;
        }
      }
    }
    if (!p.waitFor(seconds + 120L, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("loopback-floor did not finish");
    }
    if (p.exitValue() != 0 || result == null) {
      // e.g. exit code 3: not enough file descriptors for this many clients (said on stderr)
      System.err.println("loopback-floor failed with exit code " + p.exitValue() + "; skipped");
      return Optional.empty();
    }
    return Optional.of(parseResult(result));
  }

  /** {@code RESULT key=value ...}, the load generators' report line, as a map in line order. */
  public static Map<String, String> parseResult(String line) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String kv : line.substring("RESULT ".length()).split(" ")) {
      String[] pair = kv.split("=", 2);
      out.put(pair[0], pair[1]);
    }
    return out;
  }

  private static Path compile() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("watchcast-floor");
    Path source = dir.resolve("loopback-floor.c");
    try (InputStream in = LoopbackFloor.class.getResourceAsStream("/loopback-floor.c")) {
      if (in == null) {
        throw new IOException("loopback-floor.c is not on the class path");
      }
      Files.copy(in, source, StandardCopyOption.REPLACE_EXISTING);
    }
    Path out = dir.resolve("loopback-floor");
    Process gcc;
    try {
      gcc =
          new ProcessBuilder("gcc", "-O2", "-pthread", "-o", out.toString(), source.toString())
              .inheritIO()
              .start();
    } catch (IOException e) {
      System.err.println("No gcc on this machine: the loopback floor is skipped (" + e + ")");
      return null;
    }
    if (gcc.waitFor() != 0) {
      throw new IOException("gcc failed on loopback-floor.c");
    }
    return out;
  }
}
