package io.watchcast.collect;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

final class LatencyHistogramTest {

  @Test
  void bucketBounds_containTheirValues_within12AndAHalfPercent() {
    for (long us = 0; us < 5_000_000; us = us * 11 / 10 + 1) {
      int i = LatencyHistogram.index(us);
      long upper = LatencyHistogram.upperBound(i);
      assertThat(upper).isGreaterThanOrEqualTo(us);
      assertThat(upper - us).isLessThanOrEqualTo(Math.max(1, us / 8));
    }
  }

  @Test
  void percentiles_ofAKnownDistribution() {
    LatencyHistogram h = new LatencyHistogram();
    for (int ms = 1; ms <= 100; ms++) {
      h.recordNanos(Duration.ofMillis(ms).toNanos());
    }
    LatencySnapshot s = h.snapshot();
    assertThat(s.count()).isEqualTo(100);
    assertThat(s.p50().toMillis()).isBetween(50L, 57L);
    assertThat(s.p99().toMillis()).isBetween(99L, 100L);
    assertThat(s.max()).isEqualTo(Duration.ofMillis(100));
    assertThat(s.mean().toNanos()).isEqualTo(Duration.ofMillis(101).toNanos() / 2);
  }

  @Test
  void empty_isAllZero() {
    assertThat(new LatencyHistogram().snapshot().count()).isZero();
  }
}
