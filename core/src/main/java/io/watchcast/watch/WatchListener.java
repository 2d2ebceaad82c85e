package io.watchcast.watch;

/**
 * Receives a watch's batches. Called on the watch's own thread (named {@code
 * watchcast-watch-<root>}), one call at a time, never while a lock of the watcher is held.
 *
 * <p>A slow listener delays the watch: while it runs, no event is read. The final state is still
 * never missed: events that pile up meanwhile overflow into a {@linkplain ChangeBatch#rescan()
 * rescan}. Hand long work to another thread (the collector pipeline does). A listener that throws
 * is logged and counted in {@link WatchStats#listenerFailures()}; the watch goes on.
 */
@FunctionalInterface
public interface WatchListener {

  /** A batch of net changes; never empty. */
  void onChanges(ChangeBatch batch);

  /**
   * The watch failed and stopped (for example the inotify watch limit was reached while a new
   * directory was being registered, and falling back to polling was not allowed). Called at most
   * once, on the watch's thread. The default does nothing; the failure is logged either way.
   */
  default void onError(Exception error) {}
}
