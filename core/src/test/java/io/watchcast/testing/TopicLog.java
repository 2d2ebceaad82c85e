package io.watchcast.testing;

import io.watchcast.Envelope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a test client received, per topic, over all its connections: topic messages ({@code update},
 * {@code snapshot}, application types) and {@code reset}s, in the order they arrived, duplicates
 * kept, so a test sees what the server sent rather than what a client's dedupe let through.
 * Thread-safe.
 */
public final class TopicLog {
  private final String name;
  private final Map<String, List<Envelope>> arrivals = new LinkedHashMap<>();
  private final AtomicLong arrived = new AtomicLong();

  public TopicLog(String name, List<String> topics) {
    this.name = name;
    for (String t : topics) {
      arrivals.put(t, new ArrayList<>());
    }
  }

  /** Records {@code e} if it is a topic message or a {@code reset} of one of the topics. */
  public void record(Envelope e) {
    List<Envelope> list = arrivals.get(e.topic());
    if (list == null || (!e.type().equals("reset") && (e.epoch() == null || e.id() <= 0))) {
      return;
    }
    synchronized (list) {
      list.add(e);
    }
    arrived.incrementAndGet();
  }

  /** The topic's messages and resets as they arrived, in order. */
  public List<Envelope> arrivals(String topic) {
    List<Envelope> list = arrivals.get(topic);
    synchronized (list) {
      return List.copyOf(list);
    }
  }

  /** The id of the last topic message of {@code topic} that arrived, 0 if none. */
  public long lastId(String topic) {
    List<Envelope> list = arrivals.get(topic);
    synchronized (list) {
      for (int i = list.size() - 1; i >= 0; i--) {
        if (list.get(i).id() > 0) {
          return list.get(i).id();
        }
      }
      return 0;
    }
  }

  /** How many messages arrived over all topics: progress, for pacing a test. */
  public long arrived() {
    return arrived.get();
  }

  /**
   * Asserts that {@code messages} are updates of {@code epoch} with the ids {@code firstId}, {@code
   * firstId + 1}, ..., each carrying its own id as data (as the tests' publishers send them); names
   * the first that is not, with its neighbours.
   */
  public static void assertUpdates(
      String what, List<Envelope> messages, long firstId, String epoch) {
    for (int i = 0; i < messages.size(); i++) {
      Envelope e = messages.get(i);
      long expected = firstId + i;
      if (!e.type().equals("update")
          || e.id() != expected
          || !epoch.equals(e.epoch())
          || e.data().asLong() != e.id()) {
        throw new AssertionError(
            what
                + ": message "
                + (i + 1)
                + " is "
                + e.type()
                + " "
                + e.id()
                + " of epoch "
                + e.epoch()
                + ", expected update "
                + expected
                + " of epoch "
                + epoch
                + "; around it: "
                + messages.subList(Math.max(0, i - 3), Math.min(messages.size(), i + 4)).stream()
                    .map(m -> m.type() + " " + m.id())
                    .toList());
      }
    }
  }

  @Override
  public String toString() {
    return name;
  }
}
