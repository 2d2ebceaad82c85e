package io.watchcast.cache;

import io.watchcast.Clock;
import io.watchcast.watch.ChangeBatch;
import io.watchcast.watch.FileChange;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Caches a value derived from a file (parsed JSON, a line count, a summary), revalidated on every
 * {@link #get} by the file's modification time, size and file key (the inode on Unix). Thread-safe.
 *
 * <pre>{@code
 * MtimeCache<JsonNode> configs = MtimeCache.builder()
 *     .maximumSize(500)
 *     .build(path -> mapper.readTree(path.toFile()));
 * JsonNode cfg = configs.get(Path.of("conf/app.json"));   // loads, or serves the cached value
 * }</pre>
 *
 * <p><b>Racily clean.</b> A file can change twice within its file system's timestamp granularity
 * keeping the same size: its stamp then looks unchanged though its content is not. Like git, the
 * cache does not trust a value that was read while the file's modification time was within {@link
 * Builder#timestampGranularity granularity} (default {@value #DEFAULT_GRANULARITY_MILLIS} ms) of
 * the read: such a value is returned to the request that loaded it, and reloaded on the next
 * access. A value is also not trusted when the file's stamp changed while it was being read.
 *
 * <p><b>Loads.</b> The loader runs on the calling thread, never under a lock of the cache;
 * concurrent requests for one path while it loads wait for that one load. A loader that throws
 * caches nothing: each waiting request gets the exception. A missing file throws {@link
 * java.nio.file.NoSuchFileException} and drops its entry.
 *
 * <p><b>Bounds.</b> At most {@link Builder#maximumSize maximumSize} entries (default {@value
 * #DEFAULT_MAXIMUM_SIZE}); past it the least recently used entry is evicted.
 *
 * @param <V> the cached value; shared between callers, so it should be immutable
 */
public interface MtimeCache<V> {

  long DEFAULT_MAXIMUM_SIZE = 1_000;
  long DEFAULT_GRANULARITY_MILLIS = 2_000;

  /**
   * The value for {@code path}: the cached one if the file's stamp is unchanged and the value is
   * trusted, else a fresh load.
   *
   * @throws IOException if the file cannot be read, or the loader threw it
   */
  V get(Path path) throws IOException;

  /** Drops the entry of {@code path}, if any; the next {@link #get} loads. */
  void invalidate(Path path);

  /** Drops the entries of every path a watcher's batch changed. */
  default void invalidate(ChangeBatch batch) {
    for (FileChange c : batch.changes()) {
      invalidate(c.path());
    }
  }

  /** Drops every entry. */
  void invalidateAll();

  /** The number of entries now. */
  long size();

  /** Counters since the cache was built. */
  CacheStats stats();

  /** Loads the value of a file. Called on the thread that called {@link #get}. */
  @FunctionalInterface
  interface Loader<V> {
    V load(Path path) throws IOException;
  }

  static Builder builder() {
    return new Builder();
  }

  /** Builds an {@link MtimeCache}. Not thread-safe. */
  final class Builder {
    long maximumSize = DEFAULT_MAXIMUM_SIZE;
    Duration granularity = Duration.ofMillis(DEFAULT_GRANULARITY_MILLIS);
    Clock clock = Clock.system();
    private boolean sizeSet;
    private boolean granularitySet;

    private Builder() {}

    /**
     * At most {@code size} entries (default {@value MtimeCache#DEFAULT_MAXIMUM_SIZE}).
     *
     * @throws IllegalArgumentException if {@code size} is below 1
     * @throws IllegalStateException if called twice
     */
    public Builder maximumSize(long size) {
      if (sizeSet) {
        throw new IllegalStateException("maximumSize was already set to " + maximumSize);
      }
      if (size < 1) {
        throw new IllegalArgumentException("maximumSize must be at least 1, was " + size);
      }
      this.maximumSize = size;
      sizeSet = true;
      return this;
    }

    /**
     * The coarsest timestamp granularity of the file systems read (default 2 s, enough for FAT and
     * HFS+; ext4, XFS, btrfs, APFS and NTFS are far finer, and 50 ms is safe there). A value read
     * within this of its file's modification time is reloaded on next access. Zero disables the
     * protection.
     */
    public Builder timestampGranularity(Duration granularity) {
      Objects.requireNonNull(granularity, "granularity");
      if (granularitySet) {
        throw new IllegalStateException("timestampGranularity was already set");
      }
      if (granularity.isNegative()) {
        throw new IllegalArgumentException("granularity must not be negative, was " + granularity);
      }
      this.granularity = granularity;
      granularitySet = true;
      return this;
    }

    /** The wall clock compared with modification times. Default {@link Clock#system()}. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public <V> MtimeCache<V> build(Loader<V> loader) {
      return new DefaultMtimeCache<>(this, Objects.requireNonNull(loader, "loader"));
    }
  }
}
