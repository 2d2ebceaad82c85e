package io.watchcast.watch;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Records a watch's batches: {@link #next()} waits to a deadline; {@link #awaitFiles} replays the
 * changes onto a model of the tree until it equals what is expected. Thread-safe.
 */
final class BatchRecorder implements WatchListener {
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final BlockingQueue<ChangeBatch> batches = new LinkedBlockingQueue<>();
  final BlockingQueue<Exception> errors = new LinkedBlockingQueue<>();
  private final Set<Path> model = new HashSet<>();
  private final List<ChangeBatch> seen = new ArrayList<>();
  volatile CountDownLatch blockNext;
  volatile CountDownLatch blocked = new CountDownLatch(1);
  volatile boolean throwOnBatch;

  @Override
  public void onChanges(ChangeBatch batch) {
    boolean fail = throwOnBatch; // read before the test can see the batch
    batches.add(batch);
    CountDownLatch b = blockNext;
    if (b != null) {
      blockNext = null;
      blocked.countDown();
      try {
        b.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (fail) {
      throw new IllegalStateException("listener failure on purpose");
    }
  }

  @Override
  public void onError(Exception error) {
    errors.add(error);
  }

  ChangeBatch next() {
    return next(TIMEOUT);
  }

  ChangeBatch next(Duration timeout) {
    try {
      ChangeBatch b = batches.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      if (b == null) {
        throw new AssertionError("no batch within " + timeout + "; seen so far: " + seen);
      }
      apply(b);
      return b;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Every change of the batches up to and including the one for which {@code until} holds. */
  List<FileChange> changesUntil(Predicate<FileChange> until) {
    List<FileChange> out = new ArrayList<>();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      ChangeBatch b = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      out.addAll(b.changes());
      if (b.changes().stream().anyMatch(until)) {
        return out;
      }
    }
  }

  /** Changes up to the batch that reports {@code barrier} as created. */
  List<FileChange> changesUntilCreated(Path barrier) {
    return changesUntil(c -> c.path().equals(barrier) && c.kind() == FileChange.Kind.CREATED);
  }

  /** Replays batches onto the model until it holds exactly {@code expected}. */
  void awaitFiles(Set<Path> expected) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos() * 2;
    while (!model.equals(expected)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        Set<Path> missing = new HashSet<>(expected);
        missing.removeAll(model);
        Set<Path> extra = new HashSet<>(model);
        extra.removeAll(expected);
        throw new AssertionError(
            "model never matched; missing " + head(missing) + ", extra " + head(extra));
      }
      next(Duration.ofNanos(left));
    }
  }

  private static String head(Set<Path> s) {
    return s.size() + " " + s.stream().limit(5).toList();
  }

  /** Batches seen through {@link #next}. */
  List<ChangeBatch> seen() {
    return seen;
  }

  /** Starts the model from the baseline. */
  void baseline(Set<Path> files) {
    model.addAll(files);
  }

  private void apply(ChangeBatch b) {
    seen.add(b);
    for (FileChange c : b.changes()) {
      switch (c.kind()) {
        case CREATED:
        case MODIFIED:
          model.add(c.path());
          break;
        case DELETED:
          model.remove(c.path());
          break;
      }
    }
  }

  /** Asserts that no batch arrives within {@code d}. */
  void assertQuietFor(Duration d) {
    try {
      ChangeBatch b = batches.poll(d.toNanos(), TimeUnit.NANOSECONDS);
      if (b != null) {
        throw new AssertionError("unexpected batch: " + b);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
