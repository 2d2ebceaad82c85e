package io.watchcast.watch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The changes a watcher delivers at once, after its debounce. Immutable and thread-safe.
 *
 * <p>Each path appears at most once, sorted by path.
 *
 * @param changes the net change of each path, at most one per path
 * @param rescan true when some of these changes were found by rescanning a subtree after events
 *     were lost (an overflow of the event queue, a lost watch, a switch to polling), rather than
 *     from events; the changes are still exact, only their cause is unknown
 * @param firstEventNanos {@link System#nanoTime()} when the watcher first saw an event (or a poll
 *     found a change) that belongs to this batch; for latency measurement
 */
public record ChangeBatch(List<FileChange> changes, boolean rescan, long firstEventNanos) {

  public ChangeBatch {
    changes = List.copyOf(Objects.requireNonNull(changes, "changes"));
  }

  /** The changed paths, in order. */
  public List<Path> paths() {
    List<Path> out = new ArrayList<>(changes.size());
    for (FileChange c : changes) {
      out.add(c.path());
    }
    return out;
  }

  public int size() {
    return changes.size();
  }

  public boolean isEmpty() {
    return changes.isEmpty();
  }
}
