package io.watchcast.watch;

import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import io.watchcast.watch.KnownTree.Entry;
import io.watchcast.watch.WatchOptions.Backend;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One watched root: the engine shared by both backends ({@link WatchServiceBackend} for native
 * events, {@link PollingBackend} for scans), with the debounce, the net-effect diff against the
 * known tree, rescans, the health check and the switch from native to polling.
 *
 * <p>Raw events only mark paths dirty. When a batch is due, each dirty path is stat'ed and compared
 * with what the watch knew, so what is delivered is the net effect: a file replaced by a rename (an
 * atomic save) or deleted and written anew (vim) was there before and is there now, so it is one
 * MODIFIED; a temp file created and renamed away within the window was never there, so it is
 * nothing. Lost events (overflow, lost key) and the polling backend rescan a subtree and diff it
 * the same way.
 *
 * <p>Threads: {@link #start()} scans on the caller's thread, then everything runs on the watch's
 * own thread; only the counters, {@link #close()} and the volatile state are shared.
 */
final class WatchLoop implements WatchHandle, Runnable {
  private static final Logger log = LoggerFactory.getLogger(WatchLoop.class);

  /** The health check's file in the root; never reported. */
  static final String CANARY = ".watchcast-canary";

  private static final long ROOT_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final long CLOSE_JOIN_MILLIS = 10_000;

  private final Path root;
  private final WatchOptions options;
  private final WatchListener listener;
  private final Hooks hooks;
  private final GlobSet include;
  private final GlobSet exclude;
  private final long quietNanos;
  private final long maxWaitNanos;

  // Owned by the watch thread (and by start() before it).
  private final KnownTree tree = new KnownTree();
  private volatile WatchServiceBackend events; // null when polling
  private PollingBackend polling; // null when native
  private final Map<Path, Boolean> dirty = new LinkedHashMap<>(); // path -> a MODIFY was seen
  private final List<Path> pendingScans = new ArrayList<>();
  private final TreeMap<Path, FileChange.Kind> outbox = new TreeMap<>();
  private boolean pendingRescan;
  private long firstEventNanos;
  private long lastEventNanos;
  private boolean pending;
  private long recorded;
  private Object rootKey;
  private boolean rootPresent = true;
  private long nextRootCheck;
  private boolean healthDisabled;
  private long nextHealthCheck;
  private long canaryDeadline;
  private boolean canarySeen;

  private final Semaphore wakeup = new Semaphore(0);
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Thread thread;
  private volatile Backend backend;
  private volatile String switchReason;
  private volatile boolean failed;
  private volatile int watchedDirs;
  private volatile int knownFiles;
  private final LongAdder batches = new LongAdder();
  private final LongAdder changes = new LongAdder();
  private final LongAdder rescans = new LongAdder();
  private final LongAdder overflows = new LongAdder();
  private final LongAdder listenerFailures = new LongAdder();
  private final LongAdder healthChecks = new LongAdder();

  WatchLoop(Path root, WatchOptions options, WatchListener listener, Hooks hooks) {
    this.root = root;
    this.options = options;
    this.listener = listener;
    this.hooks = hooks;
    this.include = GlobSet.of(options.include());
    List<String> ex = new ArrayList<>(options.exclude());
    if (options.defaultIgnores()) {
      ex.addAll(WatchOptions.DEFAULT_IGNORES);
    }
    this.exclude = GlobSet.of(ex);
    this.quietNanos = options.quietPeriod().toNanos();
    this.maxWaitNanos = options.maxWait().toNanos();
  }

  /** Scans the baseline (registering directories when native), then starts the thread. */
  void start() throws IOException {
    backend = options.backend();
    if (backend == Backend.NATIVE) {
      try {
        events = WatchServiceBackend.open(root, hooks);
        scanSubtree(root);
      } catch (IOException e) {
        InotifyLimitException limit = InotifyLimitException.from(e);
        closeWatchService();
        if (limit == null) {
          throw e;
        }
        if (!options.fallbackToPolling()) {
          log.error("Cannot watch {}: {}", root, limit.getMessage());
          throw limit;
        }
        switchToPolling("inotify limit reached at start: " + limit.getMessage(), System.nanoTime());
        scanSubtree(root);
      }
    } else {
      scanSubtree(root);
    }
    outbox.clear(); // the baseline is not reported
    pendingRescan = false;
    rootKey = fileKey(root);
    updateGauges();
    long now = System.nanoTime();
    nextRootCheck = now + ROOT_CHECK_NANOS;
    if (backend == Backend.POLLING && polling == null) {
      polling = new PollingBackend(options, now);
    }
    nextHealthCheck = now + options.healthCheckInterval().toNanos();
    Thread t = new Thread(this, "watchcast-watch-" + root.getFileName());
    t.setDaemon(true);
    thread = t;
    t.start();
  }

  // -----------------------------------------------------------------------------------------
  // The loop

  @Override
  public void run() {
    try {
      while (!closed.get()) {
        long now = System.nanoTime();
        long wait = Math.max(0, nextDeadline(now) - now);
        if (backend == Backend.NATIVE) {
          WatchKey key = events.poll(wait);
          if (key != null) {
            now = System.nanoTime();
            drainKey(key, now);
            while ((key = events.pollNow()) != null) {
              drainKey(key, now);
            }
          }
        } else {
          wakeup.tryAcquire(wait, TimeUnit.NANOSECONDS);
        }
        if (closed.get()) {
          break;
        }
        now = System.nanoTime();
        if (backend == Backend.NATIVE) {
          if (now >= nextRootCheck) {
            checkRoot(now);
          }
          if (options.healthCheckInterval().toNanos() > 0 && !healthDisabled) {
            healthCheck(now);
          }
        }
        if (backend == Backend.POLLING) {
          if (now >= polling.nextScan()) {
            poll(now);
          }
        } else if (pending
            && (now - lastEventNanos >= quietNanos || now - firstEventNanos >= maxWaitNanos)) {
          flush();
        }
      }
    } catch (ClosedWatchServiceException | InterruptedException e) {
      if (!closed.get()) {
        fail(new IOException("the watch service closed unexpectedly", e));
      }
    } catch (InotifyLimitException e) {
      fail(e); // only reached when falling back is not allowed
    } catch (Exception | Error e) {
      if (e instanceof VirtualMachineError) {
        throw (VirtualMachineError) e;
      }
      fail(e instanceof Exception ? (Exception) e : new RuntimeException(e));
    } finally {
      closeWatchService();
      deleteCanary();
    }
  }

  private long nextDeadline(long now) {
    long d = now + TimeUnit.SECONDS.toNanos(1);
    if (backend == Backend.POLLING) {
      return Math.min(d, polling.nextScan());
    }
    d = Math.min(d, nextRootCheck);
    if (pending) {
      d = Math.min(d, Math.min(lastEventNanos + quietNanos, firstEventNanos + maxWaitNanos));
    }
    if (options.healthCheckInterval().toNanos() > 0 && !healthDisabled) {
      d = Math.min(d, canaryDeadline != 0 ? canaryDeadline : nextHealthCheck);
    }
    return d;
  }

  private void markEvent(long now) {
    if (!pending) {
      pending = true;
      firstEventNanos = now;
    }
    lastEventNanos = now;
  }

  private void drainKey(WatchKey key, long now) throws IOException {
    Path dir = events.dirOf(key);
    List<WatchEvent<?>> polled = key.pollEvents();
    if (hooks.dropEvents()) {
      polled = List.of();
    }
    for (WatchEvent<?> ev : polled) {
      if (ev.kind() == OVERFLOW) {
        overflows.increment();
        requestScan(dir != null ? dir : root, true, now);
        continue;
      }
      if (dir == null) {
        continue;
      }
      Path p = dir.resolve((Path) ev.context());
      if (dir.equals(root) && p.getFileName().toString().equals(CANARY)) {
        canarySeen = true;
        continue;
      }
      if (exclude.matches(root, p)) {
        continue;
      }
      boolean modify = ev.kind() == ENTRY_MODIFY;
      dirty.merge(p, modify, Boolean::logicalOr);
      markEvent(now);
    }
    if (dir != null && hooks.loseWatchOf(dir)) {
      key.cancel();
    }
    if (!key.reset()) {
      if (dir == null) {
        return;
      }
      events.lost(key, dir);
      updateGauges();
      if (dir.equals(root)) {
        lostRoot(now);
      } else if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        requestScan(dir, true, now); // the directory is there but its watch is gone
      } else {
        dirty.putIfAbsent(dir, false);
        markEvent(now);
      }
    } else if (dir == null) {
      key.cancel(); // a key we no longer track
    }
  }

  private void requestScan(Path dir, boolean lost, long now) {
    pendingScans.add(dir);
    if (lost) {
      pendingRescan = true;
    }
    markEvent(now);
  }

  private void lostRoot(long now) {
    cancelAllKeys();
    requestScan(root, false, now);
  }

  private void checkRoot(long now) {
    nextRootCheck = now + ROOT_CHECK_NANOS;
    Object key = fileKey(root);
    if (rootPresent) {
      if (key == null || !key.equals(rootKey) || !events.isWatched(root)) {
        // Deleted, renamed away or replaced: nothing registered can be trusted.
        rootPresent = key != null;
        rootKey = key;
        lostRoot(now);
      }
    } else if (key != null) {
      log.info("Watched root {} is back; rescanning it", root);
      rootPresent = true;
      rootKey = key;
      requestScan(root, false, now);
    }
  }

  private static Object fileKey(Path p) {
    Entry e = KnownTree.stat(p);
    if (e == null || !e.dir()) {
      return null;
    }
    return e.fileKey() != null ? e.fileKey() : Boolean.TRUE;
  }

  // -----------------------------------------------------------------------------------------
  // Batches

  /** Native: turns dirty paths and requested scans into net changes and delivers them. */
  private void flush() throws IOException {
    boolean rescan = pendingRescan;
    long first = firstEventNanos;
    try {
      List<Path> scans = minimalScans();
      if (!scans.isEmpty() && rescan) {
        rescans.increment();
      }
      for (Path dir : scans) {
        scanSubtree(dir);
      }
      // Pass 1: what vanished or changed type (so that a renamed directory's old watch is dropped
      // before its new name is registered, which may hand back the same key).
      List<Map.Entry<Path, Boolean>> work = new ArrayList<>(dirty.entrySet());
      work.sort(Comparator.comparingInt(e -> e.getKey().getNameCount()));
      Map<Path, Entry> now = new HashMap<>();
      for (Map.Entry<Path, Boolean> w : work) {
        Path p = w.getKey();
        Entry cur = KnownTree.stat(p);
        if (cur != null) {
          now.put(p, cur);
        }
        Entry old = tree.get(p);
        if (old != null && (cur == null || old.dir() != cur.dir() || replacedDir(old, cur))) {
          removePath(p, old);
        }
      }
      // Pass 2: what appeared or changed, parents first.
      for (Map.Entry<Path, Boolean> w : work) {
        Path p = w.getKey();
        Entry cur = now.get(p);
        if (cur == null || !isUnderKnownDir(p)) {
          continue;
        }
        if (cur.dir()) {
          // New, or known but its watch is gone: deleted and created anew (the file system may
          // reuse the inode, so the file key can look unchanged) between two batches.
          boolean unwatched = backend == Backend.NATIVE && !events.isWatched(p);
          if ((tree.get(p) == null || unwatched) && acceptDir(p)) {
            scanSubtree(p); // registers it, then reports what it already holds
          }
          continue;
        }
        if (!acceptFile(p)) {
          continue;
        }
        Entry old = tree.get(p);
        if (old == null) {
          tree.put(p, cur);
          record(p, FileChange.Kind.CREATED);
        } else if (!old.sameAs(cur) || w.getValue()) {
          tree.put(p, cur);
          record(p, FileChange.Kind.MODIFIED);
        }
      }
    } catch (IOException e) {
      InotifyLimitException limit = InotifyLimitException.from(e);
      if (limit == null) {
        throw e;
      }
      if (!options.fallbackToPolling()) {
        deliver(rescan, first); // what was found before the failure is still true
        throw limit;
      }
      switchToPolling("inotify limit reached: " + limit.getMessage(), System.nanoTime());
      return; // the immediate poll diffs everything and delivers with what was found
    }
    dirty.clear();
    pendingScans.clear();
    pending = false;
    pendingRescan = false;
    deliver(rescan, first);
  }

  /** A directory deleted and created anew under the same name: a new inode, a new watch. */
  private static boolean replacedDir(Entry old, Entry cur) {
    return old.dir() && cur.dir() && !Objects.equals(old.fileKey(), cur.fileKey());
  }

  private boolean isUnderKnownDir(Path p) {
    Path parent = p.getParent();
    if (parent == null || !p.startsWith(root) || p.equals(root)) {
      return false;
    }
    Entry e = tree.get(parent);
    return parent.equals(root) ? rootPresent || e != null : e != null && e.dir();
  }

  private List<Path> minimalScans() {
    List<Path> sorted = new ArrayList<>(pendingScans);
    sorted.sort(Comparator.comparingInt(Path::getNameCount));
    List<Path> out = new ArrayList<>();
    for (Path p : sorted) {
      boolean covered = false;
      for (Path o : out) {
        if (p.startsWith(o)) {
          covered = true;
          break;
        }
      }
      if (!covered) {
        out.add(p);
      }
    }
    return out;
  }

  /** Polling: one scan of the whole root; delivered when {@link PollingBackend} says so. */
  private void poll(long now) throws IOException {
    if (pendingRescan && !polling.gathering()) {
      rescans.increment();
    }
    long before = recorded;
    scanSubtree(root);
    dirty.clear();
    pendingScans.clear();
    if (polling.afterScan(recorded != before, now, System.nanoTime())) {
      boolean rescan = pendingRescan;
      pending = false;
      pendingRescan = false;
      deliver(rescan, polling.firstChangeNanos());
    }
  }

  private void record(Path p, FileChange.Kind kind) {
    recorded++;
    FileChange.Kind prev = outbox.get(p);
    FileChange.Kind next = prev == null ? kind : merge(prev, kind);
    if (next == null) {
      outbox.remove(p);
    } else {
      outbox.put(p, next);
    }
  }

  /** The net effect of two changes of one path in one batch; null when they cancel out. */
  static FileChange.Kind merge(FileChange.Kind first, FileChange.Kind then) {
    switch (first) {
      case CREATED:
        return then == FileChange.Kind.DELETED ? null : FileChange.Kind.CREATED;
      case DELETED:
        return then == FileChange.Kind.DELETED ? FileChange.Kind.DELETED : FileChange.Kind.MODIFIED;
      default:
        return then == FileChange.Kind.DELETED ? FileChange.Kind.DELETED : FileChange.Kind.MODIFIED;
    }
  }

  private void deliver(boolean rescan, long first) {
    updateGauges();
    if (outbox.isEmpty() || closed.get()) {
      outbox.clear();
      return;
    }
    List<FileChange> list = new ArrayList<>(outbox.size());
    for (Map.Entry<Path, FileChange.Kind> e : outbox.entrySet()) {
      list.add(new FileChange(e.getKey(), e.getValue()));
    }
    outbox.clear();
    ChangeBatch batch = new ChangeBatch(list, rescan, first);
    batches.increment();
    changes.add(list.size());
    try {
      listener.onChanges(batch);
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Exception | Error e) {
      listenerFailures.increment();
      log.warn(
          "Listener of the watch of {} threw on a batch of {} changes; the watch goes on",
          root,
          list.size(),
          e);
    }
  }

  // -----------------------------------------------------------------------------------------
  // Scanning and registration

  /**
   * Walks {@code dir} (registering directories when native), diffs it against the known subtree and
   * records the differences. A missing {@code dir} is an empty one.
   */
  private void scanSubtree(Path dir) throws IOException {
    Map<Path, Entry> found = new LinkedHashMap<>();
    if (dir.equals(root) || acceptDir(dir)) {
      walk(dir, found);
    }
    boolean rootGone = dir.equals(root) && !found.containsKey(root);
    // Vanished: known below dir (and dir itself) but not found.
    List<Path> known = tree.subtree(dir);
    known.add(0, dir);
    for (int i = known.size() - 1; i >= 0; i--) {
      Path p = known.get(i);
      if (!found.containsKey(p)) {
        Entry old = tree.get(p);
        if (old != null) {
          forget(p, old);
        }
      }
    }
    for (Map.Entry<Path, Entry> f : found.entrySet()) {
      Path p = f.getKey();
      Entry cur = f.getValue();
      Entry old = tree.get(p);
      if (old != null && old.dir() != cur.dir()) {
        removePath(p, old);
        old = null;
      }
      if (old == null) {
        tree.put(p, cur);
        if (!cur.dir()) {
          record(p, FileChange.Kind.CREATED);
        }
      } else if (!old.sameAs(cur)) {
        tree.put(p, cur);
        if (!cur.dir()) {
          record(p, FileChange.Kind.MODIFIED);
        }
      }
    }
    if (!rootGone && !rootPresent && dir.equals(root)) {
      rootPresent = true;
    }
    if (rootGone && rootPresent) {
      rootPresent = false;
      log.warn("Watched root {} is gone; waiting for it to come back", root);
    }
  }

  private void walk(Path start, Map<Path, Entry> found) throws IOException {
    Entry top = KnownTree.stat(start);
    if (top == null || !top.dir()) {
      if (top != null && !start.equals(root) && acceptFile(start)) {
        found.put(start, top);
      }
      return;
    }
    IOException[] limit = new IOException[1];
    Files.walkFileTree(
        start,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
            if (!d.equals(root) && !acceptDir(d)) {
              return FileVisitResult.SKIP_SUBTREE;
            }
            if (backend == Backend.NATIVE) {
              try {
                events.register(d);
              } catch (IOException e) {
                if (InotifyLimitException.from(e) != null) {
                  limit[0] = e;
                  return FileVisitResult.TERMINATE;
                }
                log.debug("Could not watch {}", d, e);
              }
            }
            found.put(d, Entry.of(attrs));
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
            if (acceptFile(f)) {
              found.put(f, Entry.of(attrs));
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path f, IOException e) {
            if (!(e instanceof NoSuchFileException)) {
              log.debug("Could not read {}", f, e);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    if (limit[0] != null) {
      throw limit[0];
    }
  }

  /** Removes a known path (a directory with its subtree), recording deletions of files. */
  private void removePath(Path p, Entry old) {
    if (old.dir()) {
      List<Path> below = tree.subtree(p);
      for (int i = below.size() - 1; i >= 0; i--) {
        Path q = below.get(i);
        Entry e = tree.get(q);
        if (e != null) {
          forget(q, e);
        }
      }
    }
    forget(p, old);
  }

  private void forget(Path p, Entry old) {
    tree.remove(p);
    if (old.dir()) {
      if (events != null) {
        events.unregister(p);
      }
    } else {
      record(p, FileChange.Kind.DELETED);
    }
  }

  private void cancelAllKeys() {
    if (events != null) {
      events.cancelAll();
    }
    updateGauges();
  }

  boolean acceptDir(Path d) {
    if (d.equals(root)) {
      return true;
    }
    return d.startsWith(root) && !exclude.matches(root, d);
  }

  boolean acceptFile(Path f) {
    if (!f.startsWith(root) || f.equals(root)) {
      return false;
    }
    String rel = GlobSet.relative(root, f);
    if (rel.equals(CANARY) || exclude.matches(rel)) {
      return false;
    }
    return include.isEmpty() || include.matches(rel);
  }

  // -----------------------------------------------------------------------------------------
  // Health, fallback, failure

  private void healthCheck(long now) {
    if (!rootPresent) {
      return;
    }
    if (canaryDeadline == 0) {
      if (now >= nextHealthCheck) {
        canarySeen = false;
        try {
          Files.writeString(root.resolve(CANARY), Long.toString(now));
          canaryDeadline = now + options.healthCheckTimeout().toNanos();
        } catch (IOException e) {
          healthDisabled = true;
          log.warn("Health check of {} disabled: cannot write its canary file", root, e);
        }
      }
      return;
    }
    if (canarySeen) {
      healthChecks.increment();
      canaryDeadline = 0;
      nextHealthCheck = now + options.healthCheckInterval().toNanos();
      deleteCanary();
    } else if (now >= canaryDeadline) {
      canaryDeadline = 0;
      deleteCanary();
      switchToPolling(
          "health check failed: no event for the canary file within "
              + options.healthCheckTimeout().toMillis()
              + " ms",
          now);
    }
  }

  private void deleteCanary() {
    if (options.healthCheckInterval().toNanos() > 0) {
      try {
        Files.deleteIfExists(root.resolve(CANARY));
      } catch (IOException e) {
        log.debug("Could not delete the canary of {}", root, e);
      }
    }
  }

  private void switchToPolling(String reason, long now) {
    log.warn(
        "Watch of {} switched to polling every {} ms: {}",
        root,
        options.pollInterval().toMillis(),
        reason);
    switchReason = reason;
    backend = Backend.POLLING;
    cancelAllKeys();
    closeWatchService();
    events = null;
    pendingRescan = true; // the first poll finds what native events missed
    polling = new PollingBackend(options, now);
    polling.scanNow(now);
  }

  private void closeWatchService() {
    WatchServiceBackend e = events;
    if (e != null) {
      e.close();
    }
  }

  private void fail(Exception e) {
    if (closed.get()) {
      return;
    }
    failed = true;
    closed.set(true);
    log.error("Watch of {} failed and stopped", root, e);
    try {
      listener.onError(e);
    } catch (RuntimeException x) {
      log.warn("Listener's onError threw", x);
    }
  }

  private void updateGauges() {
    WatchServiceBackend e = events;
    watchedDirs = e == null ? 0 : e.watchedDirectories();
    knownFiles = tree.files();
  }

  // -----------------------------------------------------------------------------------------
  // WatchHandle

  @Override
  public Path root() {
    return root;
  }

  @Override
  public WatchStats stats() {
    return new WatchStats(
        backend,
        switchReason != null,
        switchReason,
        failed,
        backend == Backend.NATIVE ? watchedDirs : 0,
        knownFiles,
        batches.sum(),
        changes.sum(),
        rescans.sum(),
        overflows.sum(),
        listenerFailures.sum(),
        healthChecks.sum());
  }

  @Override
  public boolean isClosed() {
    return closed.get();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    wakeup.release();
    closeWatchService();
    Thread t = thread;
    if (t != null && t != Thread.currentThread()) {
      try {
        t.join(CLOSE_JOIN_MILLIS);
        if (t.isAlive()) {
          log.warn(
              "Watch thread of {} did not stop within {} ms (a blocked listener?)",
              root,
              CLOSE_JOIN_MILLIS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Files the watch knows now; for tests. Only safe when the watch thread is idle. */
  java.util.Set<Path> knownFilesForTest() {
    return tree.filePaths();
  }

  @Override
  public String toString() {
    return "Watch[" + root + ", " + backend + "]";
  }
}
