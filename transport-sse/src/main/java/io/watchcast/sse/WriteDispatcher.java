package io.watchcast.sse;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the write passes of streams the hub woke up on a few pool threads (at most {@code
 * maxWorkers} at once) instead of one pool task per stream: a publish to 1,000 streams queues 1,000
 * streams here and one or two workers write them all, each write non-blocking. That keeps thread
 * hand-offs per publish constant instead of proportional to the streams. Thread-safe.
 */
final class WriteDispatcher {
  private final Executor executor;
  private final int maxWorkers;
  private final ConcurrentLinkedQueue<SseStream> ready = new ConcurrentLinkedQueue<>();
  private final AtomicInteger workers = new AtomicInteger();

  WriteDispatcher(Executor executor, int maxWorkers) {
    this.executor = executor;
    this.maxWorkers = maxWorkers;
  }

  /** Queues a pass of {@code stream}; the caller ensures it is queued at most once at a time. */
  void dispatch(SseStream stream) {
    ready.add(stream);
    startWorker();
  }

  private void startWorker() {
    while (true) {
      int w = workers.get();
      if (w >= maxWorkers) {
        return;
      }
      if (workers.compareAndSet(w, w + 1)) {
        try {
          executor.execute(this::work);
        } catch (RuntimeException e) {
          workers.decrementAndGet();
          throw e;
        }
        return;
      }
    }
  }

  private void work() {
    try {
      SseStream s;
      while ((s = ready.poll()) != null) {
        s.runPass();
      }
    } finally {
      workers.decrementAndGet();
      if (!ready.isEmpty()) {
        startWorker();
      }
    }
  }
}
