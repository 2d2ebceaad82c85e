package io.watchcast.benchmarks.sse;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Deliveries and their latency (publish nanoTime carried in the event to the moment the client
 * parsed it; System.nanoTime is CLOCK_MONOTONIC on Linux, shared by the server and client JVMs).
 * Thread-safe.
 */
final class Recorder {
  // Buckets: 10 us up to 1 ms, 100 us up to 100 ms, 10 ms up to 120 s.
  private static final int B1 = 100;
  private static final int B2 = B1 + 990;
  private static final int SIZE = B2 + 12_000;

  private final LongAdder deliveries = new LongAdder();
  private volatile AtomicLongArray buckets = new AtomicLongArray(SIZE);

  void record(long publishNanos, long now) {
    deliveries.increment();
    long us = Math.max(0, (now - publishNanos) / 1000);
    buckets.incrementAndGet(bucket(us));
  }

  private static int bucket(long us) {
    if (us < 1000) {
      return (int) (us / 10);
    }
    if (us < 100_000) {
      return B1 + (int) ((us - 1000) / 100);
    }
    return (int) Math.min(SIZE - 1, B2 + (us - 100_000) / 10_000);
  }

  private static double upperMs(int b) {
    if (b < B1) {
      return (b + 1) * 10 / 1000.0;
    }
    if (b < B2) {
      return (1000 + (b - B1 + 1) * 100) / 1000.0;
    }
    return (100_000 + (long) (b - B2 + 1) * 10_000) / 1000.0;
  }

  long deliveries() {
    return deliveries.sum();
  }

  void reset() {
    deliveries.reset();
    buckets = new AtomicLongArray(SIZE);
  }

  /** The latency quantile in milliseconds (upper bound of its bucket). */
  double quantileMs(double q) {
    AtomicLongArray b = buckets;
    long total = 0;
    for (int i = 0; i < SIZE; i++) {
      total += b.get(i);
    }
    if (total == 0) {
      return Double.NaN;
    }
    long target = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i < SIZE; i++) {
      seen += b.get(i);
      if (seen >= target) {
        return upperMs(i);
      }
    }
    return upperMs(SIZE - 1);
  }

  /** Scans SSE bytes for {@code "t":<digits>} (the publish time in the data) across buffers. */
  static final class Scanner {
    private static final byte[] KEY = {'"', 't', '"', ':'};
    private int match;
    private boolean digits;
    private long value;

    void scan(Recorder r, java.nio.ByteBuffer buf, int from, int to, long now) {
      scan(t -> r.record(t, now), buf, from, to);
    }

    /** Calls {@code sink} with each publish time found. */
    void scan(java.util.function.LongConsumer sink, java.nio.ByteBuffer buf, int from, int to) {
      for (int i = from; i < to; i++) {
        byte c = buf.get(i);
        if (digits) {
          if (c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
            continue;
          }
          sink.accept(value);
          digits = false;
          value = 0;
        }
        if (c == KEY[match]) {
          match++;
          if (match == KEY.length) {
            match = 0;
            digits = true;
          }
        } else {
          match = c == KEY[0] ? 1 : 0;
        }
      }
    }
  }
}
