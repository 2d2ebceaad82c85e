package io.watchcast.cache;

/**
 * A point-in-time view of an {@link MtimeCache}'s counters. Immutable and thread-safe.
 *
 * @param hits requests served from the cache
 * @param misses requests that were not: no entry, a changed stamp, an untrusted (racily clean)
 *     value, or a wait for another request's load
 * @param loads calls to the loader
 * @param loadFailures loads that threw
 * @param evictions entries dropped to stay within the maximum size
 * @param racyLoads loads whose value will not be trusted on next access (read too close to the
 *     file's modification time, or the file changed while it was read)
 * @param size entries now
 */
public record CacheStats(
    long hits,
    long misses,
    long loads,
    long loadFailures,
    long evictions,
    long racyLoads,
    long size) {

  /** Hits over requests; 1 when there was none. */
  public double hitRate() {
    long requests = hits + misses;
    return requests == 0 ? 1.0 : (double) hits / requests;
  }
}
