package io.watchcast.watch;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The native backend: one JDK {@link WatchService} (inotify on Linux) per watched root, one key per
 * directory, registered as directories appear. Keeps its own key-to-directory map rather than
 * trusting {@link WatchKey#watchable()}, because registering a directory that was renamed hands
 * back its old key, still naming the old path.
 *
 * <p>Not thread-safe: used by the watch's thread only (and by the thread that starts the watch,
 * before it). {@link #close()} may be called from any thread; it wakes a blocked {@link #poll}.
 */
final class WatchServiceBackend implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WatchServiceBackend.class);

  private final Hooks hooks;
  private final WatchService ws;
  private final Map<WatchKey, Path> keyDirs = new HashMap<>();
  private final Map<Path, WatchKey> dirKeys = new HashMap<>();

  private WatchServiceBackend(Hooks hooks, WatchService ws) {
    this.hooks = hooks;
    this.ws = ws;
  }

  /** Opens a watch service on {@code root}'s file system. */
  static WatchServiceBackend open(Path root, Hooks hooks) throws IOException {
    return new WatchServiceBackend(hooks, root.getFileSystem().newWatchService());
  }

  /**
   * Registers {@code dir}. Registering a directory already watched hands back its key; a directory
   * replaced under the same name gets a new key and the old one is cancelled. A directory already
   * gone is ignored (its parent reports that).
   *
   * @throws IOException on failure, including the inotify limit (see {@link
   *     InotifyLimitException#from})
   */
  void register(Path dir) throws IOException {
    hooks.beforeRegister(dir);
    WatchKey key;
    try {
      key = dir.register(ws, ENTRY_CREATE, ENTRY_DELETE, ENTRY_MODIFY);
    } catch (NoSuchFileException | NotDirectoryException e) {
      return;
    }
    Path previous = keyDirs.put(key, dir);
    if (previous != null && !previous.equals(dir)) {
      dirKeys.remove(previous, key); // the same directory, moved: one watch, the new name
    }
    WatchKey old = dirKeys.put(dir, key);
    if (old != null && old != key) {
      keyDirs.remove(old, dir);
      old.cancel();
    }
  }

  /** Stops watching {@code dir} (it was deleted or excluded). */
  void unregister(Path dir) {
    WatchKey key = dirKeys.remove(dir);
    if (key != null && dir.equals(keyDirs.get(key))) {
      keyDirs.remove(key);
      key.cancel();
    }
  }

  /** Forgets a key the JDK invalidated (its directory was deleted, or the file system went). */
  void lost(WatchKey key, Path dir) {
    keyDirs.remove(key, dir);
    dirKeys.remove(dir, key);
  }

  /** Cancels every key. */
  void cancelAll() {
    for (WatchKey k : keyDirs.keySet()) {
      k.cancel();
    }
    keyDirs.clear();
    dirKeys.clear();
  }

  /** The directory of {@code key}, or null for a key no longer tracked. */
  Path dirOf(WatchKey key) {
    return keyDirs.get(key);
  }

  /** Whether {@code dir} has a live registration. */
  boolean isWatched(Path dir) {
    return dirKeys.containsKey(dir);
  }

  int watchedDirectories() {
    return dirKeys.size();
  }

  /** The next signalled key, waiting up to {@code nanos}; null if none. */
  WatchKey poll(long nanos) throws InterruptedException {
    return ws.poll(nanos, TimeUnit.NANOSECONDS);
  }

  /** The next signalled key, or null at once. */
  WatchKey pollNow() {
    return ws.poll();
  }

  /** Closes the watch service; idempotent, from any thread. */
  @Override
  public void close() {
    try {
      ws.close();
    } catch (IOException e) {
      log.debug("Closing a watch service failed", e);
    }
  }
}
