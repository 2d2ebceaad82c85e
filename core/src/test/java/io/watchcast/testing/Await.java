package io.watchcast.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polling a condition to a deadline, for tests that have no event to wait on. */
public final class Await {
  private static final Duration DEFAULT = Duration.ofSeconds(10);

  private Await() {}

  /** Returns once {@code condition} holds; fails with {@code what} after 10 seconds. */
  public static void await(BooleanSupplier condition, String what) {
    await(condition, what, DEFAULT);
  }

  /** Returns once {@code condition} holds; fails with {@code what} after {@code deadline}. */
  public static void await(BooleanSupplier condition, String what, Duration deadline) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + deadline.toSeconds() + " s: " + what);
      }
      try {
        Thread.sleep(5); // the poll interval
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
