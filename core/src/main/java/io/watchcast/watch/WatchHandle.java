package io.watchcast.watch;

import java.nio.file.Path;

/**
 * A running watch of one root, from {@link FileWatcher#watch}. Thread-safe. {@link #close()} stops
 * it: idempotent, and no batch is delivered after it returns (unless it is called from the listener
 * itself, in which case the batch being delivered is the last).
 */
public interface WatchHandle extends AutoCloseable {

  /** The watched root, absolute and normalized. */
  Path root();

  /** This watch's counters and state. */
  WatchStats stats();

  /** Whether the watch was closed or failed. */
  boolean isClosed();

  @Override
  void close();
}
