package io.watchcast.testing;

import io.watchcast.Clock;
import io.watchcast.Scheduler;
import java.time.Duration;
import java.util.PriorityQueue;

/**
 * A fake clock and scheduler driven by hand: {@link #advance(Duration)} moves time and runs the
 * tasks that fall due, in order, on the calling thread. Thread-safe.
 */
public final class ManualScheduler implements Clock, Scheduler {
  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private long nanos = 1_000_000_000L;
  private long millisAtZero = 1_700_000_000_000L;
  private long seq;

  private record Task(long due, long seq, Runnable run) implements Comparable<Task> {
    @Override
    public int compareTo(Task o) {
      int c = Long.compare(due, o.due);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }

  @Override
  public synchronized long millis() {
    return millisAtZero + nanos / 1_000_000L;
  }

  @Override
  public synchronized long nanos() {
    return nanos;
  }

  @Override
  public synchronized void schedule(Runnable task, long delayNanos) {
    tasks.add(new Task(nanos + delayNanos, seq++, task));
  }

  /** Tasks waiting to run. */
  public synchronized int pending() {
    return tasks.size();
  }

  /** Moves time forward by {@code d}, running every task that falls due at its own time. */
  public void advance(Duration d) {
    long target;
    synchronized (this) {
      target = nanos + d.toNanos();
    }
    while (true) {
      Task next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.due > target) {
          nanos = target;
          return;
        }
        tasks.poll();
        nanos = Math.max(nanos, next.due);
      }
      next.run.run(); // outside our monitor, like a real scheduler thread
    }
  }
}
