package io.watchcast;

import java.time.Duration;
import java.util.Objects;

/**
 * How often a topic's publishes reach subscribers. Immutable and thread-safe.
 *
 * <ul>
 *   <li>{@link #none()}: every publish is delivered.
 *   <li>{@link #latest(Duration)}: conflation, for state. The first publish after a quiet period
 *       goes out at once; within each window after it only the newest value is kept, and it is
 *       delivered by the end of the window. At most one message per window.
 *   <li>{@link #batch(Duration, int)}: for event streams. The first publish after a quiet period
 *       goes out at once as a list of one; publishes within the window after it are delivered
 *       together as one message whose {@code data} is the ordered list, at the end of the window or
 *       as soon as {@code maxBatch} items are waiting.
 * </ul>
 */
public record Throttle(Mode mode, Duration window, int maxBatch) {

  /** The kinds of throttle. */
  public enum Mode {
    NONE,
    LATEST,
    BATCH
  }

  private static final Throttle NONE = new Throttle(Mode.NONE, Duration.ZERO, 1);

  public Throttle {
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(window, "window");
    if (mode != Mode.NONE && (window.isNegative() || window.isZero())) {
      throw new IllegalArgumentException("a " + mode + " throttle needs a positive window");
    }
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be at least 1, was " + maxBatch);
    }
  }

  /** Every publish is delivered. */
  public static Throttle none() {
    return NONE;
  }

  /** At most one message per {@code window}; the newest value of a burst always arrives. */
  public static Throttle latest(Duration window) {
    return new Throttle(Mode.LATEST, window, 1);
  }

  /** Publishes within {@code window} are delivered as one list of at most {@code maxBatch}. */
  public static Throttle batch(Duration window, int maxBatch) {
    return new Throttle(Mode.BATCH, window, maxBatch);
  }
}
