package io.watchcast;

/**
 * A source of time, injectable so that tests can run throttling windows and history ages on a fake
 * clock without sleeping.
 *
 * <p>Implementations must be thread-safe: the hub reads the clock from publisher threads, transport
 * threads and its scheduler at once.
 */
public interface Clock {

  /** Wall-clock time in epoch milliseconds; used for the envelope's {@code timestamp}. */
  long millis();

  /** Monotonic time in nanoseconds; used for throttle windows, history age and rate limits. */
  long nanos();

  /** The system clock: {@link System#currentTimeMillis()} and {@link System#nanoTime()}. */
  static Clock system() {
    return SystemClock.INSTANCE;
  }
}

enum SystemClock implements Clock {
  INSTANCE;

  @Override
  public long millis() {
    return System.currentTimeMillis();
  }

  @Override
  public long nanos() {
    return System.nanoTime();
  }
}
