package io.watchcast;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs delayed tasks: the end of a throttle window. Injectable so that tests drive time by hand.
 *
 * <p>Implementations must be thread-safe. Tasks must be run one at a time or concurrently; the hub
 * makes no assumption about which thread runs them.
 */
@FunctionalInterface
public interface Scheduler {

  /** Runs {@code task} once, no sooner than {@code delayNanos} from now. Never blocks. */
  void schedule(Runnable task, long delayNanos);

  /**
   * A scheduler backed by {@code executor}. The caller owns the executor and shuts it down; the hub
   * does not.
   */
  static Scheduler of(ScheduledExecutorService executor) {
    return (task, delayNanos) -> executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * A single daemon thread named {@code name}, started on first use. This is what a hub uses when
   * none is given; the hub shuts it down on close.
   */
  static ScheduledExecutorService newDaemonExecutor(String name) {
    AtomicInteger count = new AtomicInteger();
    ThreadFactory factory =
        r -> {
          Thread t = new Thread(r, name + "-" + count.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, factory);
    executor.setRemoveOnCancelPolicy(true);
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    return executor;
  }
}
