package io.watchcast.watch;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One file's net change within a batch: the difference between what the watcher knew of {@code
 * path} before the batch and what is on disk when the batch is delivered. Immutable and
 * thread-safe.
 *
 * <p>Changes are about files (and symbolic links, which are reported as entries of their own and
 * never followed). A directory is not reported itself: a directory that appears with files in it
 * reports each file as {@link Kind#CREATED}; one that disappears reports each file it held as
 * {@link Kind#DELETED}.
 *
 * @param path the absolute, normalized path, under the watched root as it was given
 * @param kind what happened to it, net
 */
public record FileChange(Path path, Kind kind) {

  /** What happened to a file, net, within one batch. */
  public enum Kind {
    /** The file was not there before the batch and is now. */
    CREATED,
    /**
     * The file was there before and is now, and was written, replaced (an editor's atomic save) or
     * had its attributes changed.
     */
    MODIFIED,
    /** The file was there before the batch and is not now. */
    DELETED
  }

  public FileChange {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(kind, "kind");
  }
}
