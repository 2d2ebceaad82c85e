package io.watchcast.watch;

import java.util.concurrent.TimeUnit;

/**
 * The polling backend's schedule. The watch scans its whole root when {@link #nextScan()} is due
 * and tells this what the scan found; this says when the gathered changes are due. A scan that
 * finds changes is followed by another after the quiet period (or twice the scan's own duration, if
 * longer, to bound the cost on big trees); the changes are due when a follow-up finds nothing new,
 * or {@code maxWait} after the first, so the steps of an editor's save that straddle a scan still
 * net out to one change.
 *
 * <p>Not thread-safe: used by the watch's thread only.
 */
final class PollingBackend {
  private static final long MIN_FOLLOW_UP = TimeUnit.MILLISECONDS.toNanos(1);

  private final long pollNanos;
  private final long quietNanos;
  private final long maxWaitNanos;
  private long nextScan;
  private boolean gathering;
  private long firstChangeNanos;

  PollingBackend(WatchOptions options, long now) {
    this.pollNanos = options.pollInterval().toNanos();
    this.quietNanos = options.quietPeriod().toNanos();
    this.maxWaitNanos = options.maxWait().toNanos();
    this.nextScan = now + pollNanos;
  }

  /** When the next scan is due ({@link System#nanoTime()}). */
  long nextScan() {
    return nextScan;
  }

  /** Scan as soon as possible (after a switch from native events). */
  void scanNow(long now) {
    nextScan = now;
  }

  /** Whether changes found by earlier scans wait to be delivered. */
  boolean gathering() {
    return gathering;
  }

  /** When the first change of what is gathered was found. */
  long firstChangeNanos() {
    return firstChangeNanos;
  }

  /**
   * Records a scan that ran from {@code start} to {@code end} and found changes or not.
   *
   * @return whether what was gathered is due for delivery now
   */
  boolean afterScan(boolean found, long start, long end) {
    if (found) {
      if (!gathering) {
        gathering = true;
        firstChangeNanos = start;
      }
      if (end - firstChangeNanos < maxWaitNanos) {
        nextScan = end + Math.max(MIN_FOLLOW_UP, Math.max(quietNanos, 2 * (end - start)));
        return false;
      }
    }
    nextScan = end + pollNanos;
    boolean due = gathering;
    gathering = false;
    return due;
  }
}
