package io.watchcast.benchmarks.load;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The fixed-rate publishing loop of the load benchmarks: message {@code i} is due at {@code start +
 * (i - 1) * period} and is handed its due time, which the payload carries, so latency counts from
 * the intended send time and a late tick shows as latency (no coordinated omission).
 */
final class FixedRate {
  /** Publishes message {@code i} (from 1), due at {@code due} ({@link System#nanoTime()}). */
  interface Publisher {
    void publish(int i, long due);
  }

  private FixedRate() {}

  /**
   * Publishes {@code k} messages at {@code rate} per second, starting in 20 ms; the first due time.
   */
  static long run(int k, int rate, Publisher publisher) {
    long period = TimeUnit.SECONDS.toNanos(1) / rate;
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
    for (int i = 1; i <= k; i++) {
      long due = start + (i - 1) * period;
      while (System.nanoTime() < due) {
        LockSupport.parkNanos(Math.max(1000, due - System.nanoTime() - 50_000));
      }
      publisher.publish(i, due);
    }
    return start;
  }
}
