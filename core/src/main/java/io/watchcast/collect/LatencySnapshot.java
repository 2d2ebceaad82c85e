package io.watchcast.collect;

import java.time.Duration;

/**
 * A summary of one stage's latency histogram. Immutable and thread-safe. Percentiles are accurate
 * to within 12.5% (log-linear buckets at microsecond resolution); {@code max} and {@code mean} are
 * exact.
 *
 * @param count samples recorded
 */
public record LatencySnapshot(
    long count, Duration p50, Duration p90, Duration p99, Duration max, Duration mean) {

  static final LatencySnapshot EMPTY =
      new LatencySnapshot(
          0, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);

  @Override
  public String toString() {
    return String.format(
        "n=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms mean=%.2fms",
        count, ms(p50), ms(p90), ms(p99), ms(max), ms(mean));
  }

  private static double ms(Duration d) {
    return d.toNanos() / 1e6;
  }
}
