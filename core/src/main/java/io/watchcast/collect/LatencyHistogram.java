package io.watchcast.collect;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * A lock-free log-linear histogram of durations in microseconds: 16 exact buckets below 16 us, then
 * 8 buckets per power of two (at most 12.5% wide). Thread-safe; recording never allocates.
 */
final class LatencyHistogram {
  private static final int SUB = 8;
  private static final int BUCKETS = 16 + (64 - 4) * SUB;

  private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
  private final LongAdder count = new LongAdder();
  private final LongAdder sumNanos = new LongAdder();
  private final LongAccumulator maxNanos = new LongAccumulator(Math::max, 0);

  void recordNanos(long nanos) {
    if (nanos < 0) {
      nanos = 0;
    }
    counts.incrementAndGet(index(nanos / 1000));
    count.increment();
    sumNanos.add(nanos);
    maxNanos.accumulate(nanos);
  }

  static int index(long micros) {
    if (micros < 16) {
      return (int) micros;
    }
    int exp = 63 - Long.numberOfLeadingZeros(micros); // >= 4
    int sub = (int) ((micros >>> (exp - 3)) & (SUB - 1));
    return 16 + (exp - 4) * SUB + sub;
  }

  /** The upper bound, in microseconds, of bucket {@code i}. */
  static long upperBound(int i) {
    if (i < 16) {
      return i;
    }
    int exp = (i - 16) / SUB + 4;
    int sub = (i - 16) % SUB;
    long lower = (1L << exp) + ((long) sub << (exp - 3));
    return lower + (1L << (exp - 3)) - 1;
  }

  LatencySnapshot snapshot() {
    long n = count.sum();
    if (n == 0) {
      return LatencySnapshot.EMPTY;
    }
    long[] c = new long[BUCKETS];
    long total = 0;
    for (int i = 0; i < BUCKETS; i++) {
      c[i] = counts.get(i);
      total += c[i];
    }
    long max = maxNanos.get();
    return new LatencySnapshot(
        n,
        percentile(c, total, 0.50, max),
        percentile(c, total, 0.90, max),
        percentile(c, total, 0.99, max),
        Duration.ofNanos(max),
        Duration.ofNanos(sumNanos.sum() / n));
  }

  private static Duration percentile(long[] c, long total, double q, long maxNanos) {
    long rank = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i < c.length; i++) {
      seen += c[i];
      if (seen >= rank && c[i] > 0) {
        return Duration.ofNanos(Math.min(maxNanos, (upperBound(i) + 1) * 1000 - 1));
      }
    }
    return Duration.ofNanos(maxNanos);
  }
}
