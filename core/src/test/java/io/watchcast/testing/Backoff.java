package io.watchcast.testing;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The reconnect backoff of {@code watchcast.js} (docs/CLIENT.md): exponential with full jitter, the
 * n-th retry (n from 0, reset by a connection that opens) waiting a random time between {@code min}
 * and {@code min(max, min × 2ⁿ)}. Immutable.
 */
public record Backoff(Duration min, Duration max) {

  /** The browser client's defaults: {@code minDelay} 500 ms, {@code maxDelay} 20 s. */
  public static Backoff browserDefaults() {
    return new Backoff(Duration.ofMillis(500), Duration.ofSeconds(20));
  }

  /** The longest wait of the n-th retry: {@code min(max, min × 2ⁿ)}. */
  public Duration cap(int n) {
    long cap = min.toMillis() * (1L << Math.min(n, 30));
    return Duration.ofMillis(Math.min(max.toMillis(), cap));
  }

  /** A random wait for the n-th retry, as {@code watchcast.js} draws it. */
  public Duration delay(int n) {
    long lo = min.toMillis();
    long hi = Math.max(lo, cap(n).toMillis());
    return Duration.ofMillis(lo + (long) (ThreadLocalRandom.current().nextDouble() * (hi - lo)));
  }
}
