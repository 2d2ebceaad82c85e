package io.watchcast.collect;

import io.watchcast.cache.MtimeCache;
import io.watchcast.watch.FileChange;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link Collector} gets for one run: the root, the changes that triggered it, and reads
 * that go through caches and stay inside the root. Valid during {@link Collector#collect} only;
 * used from the worker thread that runs it.
 *
 * <p>Symbolic links: a path is read only if its real path (links resolved) is inside the root's
 * real path; a link leading outside it fails with an {@link IOException}.
 */
public interface CollectContext {

  /** The pipeline's root, absolute and normalized. */
  Path root();

  /** Whether this is the run at start, not triggered by changes. */
  boolean initial();

  /**
   * The changes of files matching the collector's globs since its last run (several batches' worth
   * when they arrived while it ran), at most one per path. Empty for the initial run.
   */
  List<FileChange> changes();

  /**
   * {@code relative} resolved against the root.
   *
   * @throws IllegalArgumentException if it would leave the root ({@code ../x}, an absolute path)
   */
  Path resolve(String relative);

  /** The file's bytes, through the pipeline's content cache (a copy). */
  byte[] readBytes(Path path) throws IOException;

  /** The file's text in UTF-8, through the pipeline's content cache. */
  String readString(Path path) throws IOException;

  /** {@code cache.get(path)}, after the same inside-the-root check as the other reads. */
  <V> V read(Path path, MtimeCache<V> cache) throws IOException;

  /**
   * The files under the root (not following links, skipping the watch's excluded directories)
   * matching {@code glob}, sorted.
   */
  List<Path> list(String glob) throws IOException;
}
