package io.watchcast.benchmarks.load;

/**
 * Latencies in buckets: 1 µs up to 10 ms, 100 µs up to 1 s, 10 ms up to 100 s. Not thread-safe; one
 * per client thread, merged at the end.
 */
final class LatencyHistogram {
  private static final int FINE = 10_000; // 0..10 ms by 1 µs
  private static final int MEDIUM = 9_900; // 10 ms..1 s by 100 µs
  private static final int COARSE = 9_900; // 1 s..100 s by 10 ms
  private final long[] counts = new long[FINE + MEDIUM + COARSE + 1];
  private long total;
  private long maxMicros;

  void record(long nanos) {
    long us = Math.max(0, nanos / 1000);
    maxMicros = Math.max(maxMicros, us);
    int bucket;
    if (us < 10_000) {
      bucket = (int) us;
    } else if (us < 1_000_000) {
      bucket = FINE + (int) ((us - 10_000) / 100);
    } else if (us < 100_000_000) {
      bucket = FINE + MEDIUM + (int) ((us - 1_000_000) / 10_000);
    } else {
      bucket = counts.length - 1;
    }
    counts[bucket]++;
    total++;
  }

  void merge(LatencyHistogram other) {
    for (int i = 0; i < counts.length; i++) {
      counts[i] += other.counts[i];
    }
    total += other.total;
    maxMicros = Math.max(maxMicros, other.maxMicros);
  }

  long count() {
    return total;
  }

  long maxMicros() {
    return maxMicros;
  }

  /** The upper bound of the bucket holding the {@code q} quantile, in microseconds. */
  long quantileMicros(double q) {
    if (total == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= rank) {
        return upper(i);
      }
    }
    return maxMicros;
  }

  private static long upper(int bucket) {
    if (bucket < FINE) {
      return bucket + 1;
    }
    if (bucket < FINE + MEDIUM) {
      return 10_000 + (long) (bucket - FINE + 1) * 100;
    }
    return 1_000_000 + (long) (bucket - FINE - MEDIUM + 1) * 10_000;
  }
}
