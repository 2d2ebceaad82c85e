package io.watchcast.watch;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Watches directory trees and delivers their changes in debounced batches. Thread-safe; one watcher
 * may watch many roots, each with its own thread.
 *
 * <pre>{@code
 * try (WatchHandle watch = FileWatcher.create().watch(root, WatchOptions.defaults(),
 *     batch -> batch.changes().forEach(System.out::println))) {
 *   ...
 * }
 * }</pre>
 *
 * <p>What a watch guarantees: after every batch has been delivered and the tree is quiet, the
 * changes reported since the start, applied to the files present at the start, give the files
 * present now (within the include/exclude filters). Events the platform loses (an overflow of the
 * event queue, a lost watch) cause a rescan of the affected subtree, whose difference is delivered
 * with {@link ChangeBatch#rescan()} set. See docs/FILES.md for backends, the symlink policy and
 * inotify limits.
 */
public interface FileWatcher {

  /**
   * Starts watching {@code root} recursively. Returns once the tree has been scanned (and, with the
   * native backend, every directory registered): a change made after this returns is reported;
   * files present before it are the baseline and are not.
   *
   * @param listener called on the watch's own thread; see {@link WatchListener}
   * @throws java.nio.file.NotDirectoryException if {@code root} is not a directory
   * @throws InotifyLimitException if the inotify limit was reached and {@link
   *     WatchOptions#fallbackToPolling()} is false
   * @throws IOException if the tree cannot be read or watched
   */
  WatchHandle watch(Path root, WatchOptions options, WatchListener listener) throws IOException;

  /** The standard watcher: the backend is chosen per watch by {@link WatchOptions#backend()}. */
  static FileWatcher create() {
    return new DefaultFileWatcher(Hooks.NONE);
  }
}
