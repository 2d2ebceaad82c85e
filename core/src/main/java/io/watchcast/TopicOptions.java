package io.watchcast;

import java.time.Duration;
import java.util.Objects;

/**
 * How one topic behaves: its {@link Throttle} and the history it keeps for resume. Immutable and
 * thread-safe.
 *
 * <p>Defaults: no throttle, a history of {@value #DEFAULT_HISTORY_SIZE} messages kept for at most
 * {@link #DEFAULT_HISTORY_AGE} (5 minutes). A client that comes back within both bounds resumes
 * without a gap; one that comes back later gets {@code reset} and the snapshot.
 */
public record TopicOptions(Throttle throttle, int historySize, Duration historyAge) {

  public static final int DEFAULT_HISTORY_SIZE = 1000;
  public static final Duration DEFAULT_HISTORY_AGE = Duration.ofMinutes(5);

  private static final TopicOptions DEFAULTS =
      new TopicOptions(Throttle.none(), DEFAULT_HISTORY_SIZE, DEFAULT_HISTORY_AGE);

  public TopicOptions {
    Objects.requireNonNull(throttle, "throttle");
    Objects.requireNonNull(historyAge, "historyAge");
    if (historySize < 0) {
      throw new IllegalArgumentException("historySize must be >= 0, was " + historySize);
    }
    if (historyAge.isNegative()) {
      throw new IllegalArgumentException("historyAge must not be negative, was " + historyAge);
    }
  }

  /** No throttle, default history. */
  public static TopicOptions defaults() {
    return DEFAULTS;
  }

  /** Default history with {@code throttle}. */
  public static TopicOptions of(Throttle throttle) {
    return DEFAULTS.withThrottle(throttle);
  }

  public TopicOptions withThrottle(Throttle throttle) {
    return new TopicOptions(throttle, historySize, historyAge);
  }

  /** Keeps at most {@code size} messages and none older than {@code age} for resume. */
  public TopicOptions withHistory(int size, Duration age) {
    return new TopicOptions(throttle, size, age);
  }
}
