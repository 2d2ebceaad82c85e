package io.watchcast.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.TopicOptions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Forced disconnects at scale, for any transport: a publisher numbers the messages of several
 * topics while a {@link CuttingProxy} cuts the connections of resuming clients, then every client
 * must hold every id of every topic exactly once, in order, with no {@code reset} and no snapshot.
 *
 * <p>Both sides are paced by progress, not by the clock, so a slow machine makes the run longer,
 * not different: the publisher stays at most {@value #WINDOW} messages ahead of the slowest client
 * on each topic (well within history), and each cut waits until the clients together took {@value
 * #ARRIVALS_PER_CLIENT_PER_CUT} more message per client since the previous one. With 20 clients
 * each connection is cut after about 20 messages (some 7 per topic), so cuts land in a flowing
 * stream as well as in handshakes, subscribes and replays.
 */
public final class ForcedDisconnects {
  /** The topics of a run. */
  public static final List<String> TOPICS = List.of("t0", "t1", "t2");

  /** The clients of a run. */
  public static final int CLIENTS = 20;

  /** The cuts of a run. */
  public static final int CUTS = 1000;

  /** Short waits to reconnect: what a run tests is resume, not the backoff's timing. */
  public static final Backoff FAST = new Backoff(Duration.ofMillis(2), Duration.ofMillis(50));

  static final int WINDOW = 300;
  static final int ARRIVALS_PER_CLIENT_PER_CUT = 1;
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  /** What a run did: the cuts, the last id of each topic, and how long it took. */
  public record Result(int cuts, int connections, Map<String, Long> lastIds, Duration took) {
    @Override
    public String toString() {
      return cuts
          + " cuts, "
          + connections
          + " connections, last ids "
          + lastIds
          + ", "
          + took.toMillis()
          + " ms";
    }
  }

  private ForcedDisconnects() {}

  /** A hub with {@link #TOPICS} declared, each with a history that holds a whole run. */
  public static ConnectionManager hub() {
    TopicOptions wholeRun = TopicOptions.defaults().withHistory(1_000_000, Duration.ofMinutes(10));
    ConnectionManager.Builder b = ConnectionManager.builder();
    TOPICS.forEach(t -> b.topic(t, wholeRun));
    return b.build();
  }

  /**
   * Publishes on every topic while making {@code cuts} cuts through {@code proxy}, waits for every
   * client to catch up, and asserts what each received. The clients must be subscribed (through the
   * proxy) before, to topics that have published nothing yet and whose history holds the run.
   */
  public static Result run(
      ConnectionManager hub,
      List<String> topics,
      CuttingProxy proxy,
      List<TopicLog> clients,
      int cuts) {
    long start = System.nanoTime();
    int cutsBefore = proxy.cuts();
    int acceptedBefore = proxy.accepted();
    AtomicBoolean stop = new AtomicBoolean();
    Thread publisher = new Thread(() -> publish(hub, topics, clients, stop), "cuts-publisher");
    publisher.start();
    // On a timeout, what arrived until then is checked first: a gap or a duplicate says more.
    AssertionError late = null;
    try {
      long mark = total(clients);
      for (int i = 0; i < cuts; i++) {
        long next = mark + (long) clients.size() * ARRIVALS_PER_CLIENT_PER_CUT;
        Await.await(
            () -> total(clients) >= next,
            "progress before cut " + (i + 1) + " of " + cuts,
            DEADLINE);
        mark = next;
        Await.await(proxy::cutRandom, "an open connection to cut", DEADLINE);
      }
    } catch (AssertionError e) {
      late = e;
    } finally {
      stop.set(true);
      join(publisher);
    }
    Map<String, Long> last = new LinkedHashMap<>();
    for (String t : topics) {
      last.put(t, hub.topic(t).orElseThrow().id());
    }
    if (late == null) {
      try {
        Await.await(
            () ->
                clients.stream()
                    .allMatch(c -> topics.stream().allMatch(t -> c.lastId(t) >= last.get(t))),
            "every client caught up with " + last,
            DEADLINE);
      } catch (AssertionError e) {
        late = e;
      }
    }
    for (String t : topics) {
      String epoch = hub.topic(t).orElseThrow().epoch();
      for (TopicLog c : clients) {
        TopicLog.assertUpdates(c + " " + t, c.arrivals(t), 1, epoch);
      }
    }
    if (late != null) {
      throw late;
    }
    for (String t : topics) {
      for (TopicLog c : clients) {
        assertThat(c.lastId(t)).as(c + " " + t + ": last id").isEqualTo(last.get(t));
      }
    }
    assertThat(proxy.cuts() - cutsBefore).as("cuts").isEqualTo(cuts);
    int connections = proxy.accepted() - acceptedBefore;
    assertThat(connections)
        .as("connections: each cut made its client connect again")
        .isGreaterThanOrEqualTo(cuts);
    return new Result(cuts, connections, last, Duration.ofNanos(System.nanoTime() - start));
  }

  private static void publish(
      ConnectionManager hub, List<String> topics, List<TopicLog> clients, AtomicBoolean stop) {
    long slowest = 0;
    for (long n = 1; !stop.get(); n++) {
      while (n - slowest > WINDOW && !stop.get()) {
        slowest = slowest(clients, topics);
        if (n - slowest > WINDOW) {
          LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
        }
      }
      for (String t : topics) {
        hub.publish(t, n);
      }
    }
  }

  private static long slowest(List<TopicLog> clients, List<String> topics) {
    long min = Long.MAX_VALUE;
    for (TopicLog c : clients) {
      for (String t : topics) {
        min = Math.min(min, c.lastId(t));
      }
    }
    return min;
  }

  private static long total(List<TopicLog> clients) {
    long sum = 0;
    for (TopicLog c : clients) {
      sum += c.arrived();
    }
    return sum;
  }

  private static void join(Thread t) {
    try {
      t.join(DEADLINE.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    assertThat(t.isAlive()).as("publisher stopped").isFalse();
  }
}
