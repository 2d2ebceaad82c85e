package io.watchcast.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.Envelope;
import io.watchcast.testing.Await;
import io.watchcast.testing.Backoff;
import io.watchcast.testing.ResumingClient;
import io.watchcast.testing.TopicLog;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A server process killed while it streams and started again on the same port, with clients of the
 * browser client's protocol ({@link ResumingClient}: resume with {@code since}/{@code epoch}, the
 * backoff of {@code watchcast.js} at its defaults): every client comes back by itself, gets {@code
 * reset} and the snapshot of the new epoch on every topic, then the stream goes on from that
 * snapshot with no gap, and no attempt made after the server was ready again fails.
 */
final class ServerRestartTest {
  private static final List<String> TOPICS = List.of("a", "b", "c");
  private static final int CLIENTS = 5;
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  /** For a handshake on a loaded machine, on top of the backoff's own bound. */
  private static final Duration MARGIN = Duration.ofSeconds(5);

  @Test
  void killedAndStartedAgain_everyClientGetsResetAndSnapshot_noSilentGap_backWithinBackoffBound()
      throws Exception {
    int port = freePort();
    Backoff backoff = Backoff.browserDefaults();
    HttpClient http = HttpClient.newHttpClient();
    List<ResumingClient> clients = new ArrayList<>();
    try {
      try (ServerProcess first = ServerProcess.start(port)) {
        for (int i = 0; i < CLIENTS; i++) {
          clients.add(
              ResumingClient.start(
                  "client-" + i, http, "ws://127.0.0.1:" + port + "/ws", TOPICS, backoff));
        }
        Await.await(
            () -> clients.stream().allMatch(c -> arrivedOnEveryTopic(c, 20)),
            "every client streaming",
            DEADLINE);
        first.kill();
      }
      long killed = System.nanoTime();
      Map<ResumingClient, Map<String, Integer>> atKill = new HashMap<>();
      for (ResumingClient c : clients) {
        Map<String, Integer> counts = new HashMap<>();
        TOPICS.forEach(t -> counts.put(t, c.log().arrivals(t).size()));
        atKill.put(c, counts);
      }
      try (ServerProcess second = ServerProcess.start(port)) {
        long ready = second.readyNanos;
        System.out.printf("started again in %d ms%n", (ready - killed) / 1_000_000);
        Await.await(
            () ->
                clients.stream()
                    .allMatch(
                        c -> TOPICS.stream().allMatch(t -> sinceKill(c, t, atKill).size() >= 22)),
            "every client back, with 20 messages on every topic since the kill",
            DEADLINE);

        for (ResumingClient c : clients) {
          for (String t : TOPICS) {
            List<Envelope> all = c.log().arrivals(t);
            int kill = atKill.get(c).get(t);
            assertResetThenSnapshotThenNoGap(
                c + " " + t, all.subList(0, kill), all.subList(kill, all.size()));
          }
          assertBackWithinBackoffBound(c, backoff, ready);
        }
      }
    } finally {
      clients.forEach(ResumingClient::close);
    }
  }

  private static List<Envelope> sinceKill(
      ResumingClient c, String topic, Map<ResumingClient, Map<String, Integer>> atKill) {
    List<Envelope> all = c.log().arrivals(topic);
    return all.subList(atKill.get(c).get(topic), all.size());
  }

  /**
   * Before the kill: the first snapshot, then its epoch with no gap. After: {@code reset} ({@code
   * epoch_changed}, to a new epoch), the snapshot it names (its data consistent with its id), and
   * from there the new epoch's updates with no gap.
   */
  private static void assertResetThenSnapshotThenNoGap(
      String what, List<Envelope> before, List<Envelope> after) {
    Envelope first = before.get(0);
    assertSnapshot(what + ": first", first, first.epoch());
    TopicLog.assertUpdates(
        what + " before the kill", before.subList(1, before.size()), first.id() + 1, first.epoch());
    Envelope reset = after.get(0);
    assertThat(reset.type()).as("%s: first after the kill", what).isEqualTo("reset");
    String newEpoch = reset.data().path("epoch").asText();
    assertThat(reset.data().path("reason").asText())
        .as("%s: reset reason", what)
        .isEqualTo("epoch_changed");
    assertThat(newEpoch).as("%s: the new epoch", what).isNotEqualTo(first.epoch());
    Envelope snapshot = after.get(1);
    assertSnapshot(what + ": after the reset", snapshot, newEpoch);
    assertThat(snapshot.id())
        .as("%s: snapshot id", what)
        .isEqualTo(reset.data().path("id").asLong());
    TopicLog.assertUpdates(
        what + " after the reset", after.subList(2, after.size()), snapshot.id() + 1, newEpoch);
  }

  /** A snapshot of {@code epoch} whose data is its id (as {@link StreamServer} publishes). */
  private static void assertSnapshot(String what, Envelope e, String epoch) {
    assertThat(e.type()).as(what).isEqualTo("snapshot");
    assertThat(e.epoch()).as("%s: epoch", what).isEqualTo(epoch);
    assertThat(e.data().asLong()).as("%s: data", what).isEqualTo(e.id());
  }

  /**
   * Every attempt begun after the new server was ready opened, and the one that brought the client
   * back opened within the bound of the backoff wait before it ({@code min(maxDelay, minDelay ×
   * 2ⁿ)}, docs/CLIENT.md) of the server being ready, with a margin for a loaded machine.
   */
  private static void assertBackWithinBackoffBound(
      ResumingClient c, Backoff backoff, long readyNanos) {
    List<ResumingClient.Attempt> attempts = c.attempts();
    assertThat(attempts.stream().filter(a -> a.startNanos() > readyNanos))
        .as("%s: attempts begun after the server was ready", c)
        .allMatch(ResumingClient.Attempt::opened);
    ResumingClient.Attempt back = attempts.get(attempts.size() - 1);
    assertThat(back.opened()).as("%s: connected now", c).isTrue();
    assertThat(back.retry()).as("%s: the attempt that came back is a retry", c).isNotNegative();
    Duration bound = backoff.cap(back.retry()).plus(MARGIN);
    Duration took = Duration.ofNanos(Math.max(0, back.openNanos() - readyNanos));
    System.out.printf(
        "%s: %d attempts; back %d ms after the server was ready, on retry %d (bound %d ms)%n",
        c, attempts.size(), took.toMillis(), back.retry(), backoff.cap(back.retry()).toMillis());
    assertThat(took)
        .as("%s: back after the server was ready (retry %d)", c, back.retry())
        .isLessThanOrEqualTo(bound);
  }

  private static boolean arrivedOnEveryTopic(ResumingClient c, int messages) {
    return TOPICS.stream().allMatch(t -> c.log().arrivals(t).size() >= messages);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** {@link StreamServer} in a JVM of its own, on this test's class path. */
  private static final class ServerProcess implements AutoCloseable {
    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Long> ready = new CompletableFuture<>();
    long readyNanos;

    private ServerProcess(Process process) {
      this.process = process;
      Thread reader = new Thread(this::read, "server-output");
      reader.setDaemon(true);
      reader.start();
    }

    static ServerProcess start(int port) throws Exception {
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx128m"));
      command.addAll(List.of("-cp", System.getProperty("java.class.path")));
      command.add(StreamServer.class.getName());
      command.add(Integer.toString(port));
      command.addAll(TOPICS);
      ServerProcess p =
          new ServerProcess(new ProcessBuilder(command).redirectErrorStream(true).start());
      try {
        p.readyNanos = p.ready.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
      } catch (Exception e) {
        p.close();
        throw new AssertionError(
            "the server did not start; its output:\n" + String.join("\n", p.output), e);
      }
      return p;
    }

    private void read() {
      try (BufferedReader r =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          output.add(line);
          if (line.startsWith("ready ")) {
            ready.complete(System.nanoTime());
          }
        }
      } catch (IOException ignored) {
        // the process is gone
      }
      ready.completeExceptionally(new IOException("the server ended"));
    }

    /** Kills it as a crash would (SIGKILL: no shutdown hook, no close frame). */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)).as("killed").isTrue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
      try {
        process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
