package io.watchcast.cluster.redis;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real {@code redis-server} for one test: a free port on 127.0.0.1, a temporary directory, no
 * persistence ({@code --save "" --appendonly no}). {@link #stop()} and {@link #start()} restart it
 * on the same port. Where redis-server is missing the test is skipped, except with CI=true, where
 * it fails (CI must install it: {@code apt-get install -y redis-server}).
 */
final class RedisServer implements AutoCloseable {
  private final Path dir;
  private final int port;
  private Process process;

  private RedisServer(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  static RedisServer start(Path dir) throws IOException {
    RedisServer server = new RedisServer(dir, freePort());
    server.start();
    return server;
  }

  static String binary() {
    String fromEnv = System.getenv("REDIS_SERVER");
    for (String candidate :
        List.of(
            fromEnv == null ? "" : fromEnv,
            "/usr/bin/redis-server",
            "/usr/local/bin/redis-server")) {
      if (!candidate.isEmpty() && Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    String message =
        "redis-server not found (install it: apt-get install -y redis-server, or set REDIS_SERVER)";
    if ("true".equals(System.getenv("CI"))) {
      throw new AssertionError(message);
    }
    Assumptions.abort(message);
    return null;
  }

  void start() throws IOException {
    process =
        new ProcessBuilder(
                binary(),
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                dir.toString(),
                "--logfile",
                dir.resolve("redis.log").toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("redis.out").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException(
            "redis-server exited with "
                + process.exitValue()
                + "; see "
                + dir.resolve("redis.log"));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
      }
    }
    throw new IOException("redis-server did not listen on " + port + " within 10 s");
  }

  /** Kills the server (SIGKILL): its data is gone, as after a crash. */
  void stop() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      process = null;
    }
  }

  String uri() {
    return "redis://127.0.0.1:" + port;
  }

  int port() {
    return port;
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
