package io.watchcast;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A drain thread for {@link io.watchcast.testing.FakeConnection#drainOn}, like a transport's writer
 * that falls behind: it runs no drain before {@link #open()}, so a test knows its reader is behind
 * (lagging) before it reads a byte, and then runs {@code beforeEach} before every drain pass.
 */
final class GatedDrainer implements Executor, AutoCloseable {
  private final ExecutorService thread = Executors.newSingleThreadExecutor();
  private final CountDownLatch gate = new CountDownLatch(1);
  private final Runnable beforeEach;

  GatedDrainer(Runnable beforeEach) {
    this.beforeEach = beforeEach;
  }

  GatedDrainer() {
    this(() -> {});
  }

  /** Lets drains run from now on. */
  void open() {
    gate.countDown();
  }

  @Override
  public void execute(Runnable drain) {
    thread.execute(
        () -> {
          try {
            gate.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          beforeEach.run();
          drain.run();
        });
  }

  @Override
  public void close() throws InterruptedException {
    thread.shutdownNow();
    if (!thread.awaitTermination(10, TimeUnit.SECONDS)) {
      throw new AssertionError("the drain thread did not end");
    }
  }
}
