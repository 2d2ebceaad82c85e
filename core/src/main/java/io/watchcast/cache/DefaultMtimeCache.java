package io.watchcast.cache;

import io.watchcast.Clock;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An LRU map of path to a future load, guarded by one lock held only for map operations: loads run
 * outside it, on the requesting thread, and later requests wait on the same future.
 */
final class DefaultMtimeCache<V> implements MtimeCache<V> {
  private static final int MAX_ATTEMPTS = 3;

  private final Loader<V> loader;
  private final long maximumSize;
  private final long granularityMillis;
  private final Clock clock;

  private final ReentrantLock lock = new ReentrantLock();
  private final LinkedHashMap<Path, CompletableFuture<Loaded<V>>> map =
      new LinkedHashMap<>(16, 0.75f, true);

  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder loads = new LongAdder();
  private final LongAdder loadFailures = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder racyLoads = new LongAdder();

  record Stamp(FileTime mtime, long size, Object fileKey) {}

  record Loaded<V>(V value, Stamp stamp, boolean trusted) {}

  DefaultMtimeCache(MtimeCache.Builder b, Loader<V> loader) {
    this.loader = loader;
    this.maximumSize = b.maximumSize;
    this.granularityMillis = b.granularity.toMillis();
    this.clock = b.clock;
  }

  static Stamp stamp(Path path) throws IOException {
    BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
    return new Stamp(a.lastModifiedTime(), a.size(), a.fileKey());
  }

  @Override
  public V get(Path path) throws IOException {
    Objects.requireNonNull(path, "path");
    Path key = path.toAbsolutePath().normalize();
    Loaded<V> last = null;
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      Stamp now;
      try {
        now = stamp(key);
      } catch (NoSuchFileException e) {
        invalidate(key);
        misses.increment();
        throw e;
      }
      CompletableFuture<Loaded<V>> future;
      boolean mine = false;
      lock.lock();
      try {
        future = map.get(key);
        if (future != null && future.isDone() && !future.isCompletedExceptionally()) {
          Loaded<V> l = future.join();
          if (l.trusted() && l.stamp().equals(now)) {
            hits.increment();
            return l.value();
          }
        }
        if (future == null || future.isDone()) {
          future = new CompletableFuture<>();
          map.put(key, future);
          mine = true;
          evictLocked();
        }
      } finally {
        lock.unlock();
      }
      misses.increment();
      if (mine) {
        return load(key, future).value();
      }
      last = await(future);
      if (last.stamp().equals(now)) {
        return last.value(); // loaded from the state this request saw
      }
      // It loaded an older state than the one this request saw: look again.
    }
    return last.value();
  }

  private Loaded<V> load(Path key, CompletableFuture<Loaded<V>> future) throws IOException {
    loads.increment();
    try {
      long readStart = clock.millis();
      Stamp before = stamp(key);
      V value = Objects.requireNonNull(loader.load(key), "the loader returned null");
      Stamp after;
      try {
        after = stamp(key);
      } catch (NoSuchFileException gone) {
        after = null;
      }
      boolean racy =
          !before.equals(after) || readStart - before.mtime().toMillis() < granularityMillis;
      if (racy) {
        racyLoads.increment();
      }
      Loaded<V> loaded = new Loaded<>(value, before, !racy);
      future.complete(loaded);
      return loaded;
    } catch (IOException | RuntimeException | Error e) {
      loadFailures.increment();
      lock.lock();
      try {
        map.remove(key, future);
      } finally {
        lock.unlock();
      }
      future.completeExceptionally(e);
      throw e;
    }
  }

  private Loaded<V> await(CompletableFuture<Loaded<V>> future) throws IOException {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      InterruptedIOException x = new InterruptedIOException("interrupted waiting for a load");
      x.initCause(e);
      throw x;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw new UncheckedIOException(new IOException(cause));
    }
  }

  private void evictLocked() {
    Iterator<Map.Entry<Path, CompletableFuture<Loaded<V>>>> it = map.entrySet().iterator();
    while (map.size() > maximumSize && it.hasNext()) {
      it.next();
      it.remove();
      evictions.increment();
    }
  }

  @Override
  public void invalidate(Path path) {
    Path key = path.toAbsolutePath().normalize();
    lock.lock();
    try {
      map.remove(key);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void invalidateAll() {
    lock.lock();
    try {
      map.clear();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public long size() {
    lock.lock();
    try {
      return map.size();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public CacheStats stats() {
    return new CacheStats(
        hits.sum(),
        misses.sum(),
        loads.sum(),
        loadFailures.sum(),
        evictions.sum(),
        racyLoads.sum(),
        size());
  }

  @Override
  public String toString() {
    return "MtimeCache" + stats();
  }
}
