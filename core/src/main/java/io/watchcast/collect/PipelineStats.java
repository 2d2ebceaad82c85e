package io.watchcast.collect;

import io.watchcast.cache.CacheStats;
import io.watchcast.watch.WatchStats;
import java.util.Map;

/**
 * A point-in-time view of a {@link FilePipeline}. Immutable and thread-safe.
 *
 * <p>The four latency histograms follow a change through the stages, so that a user can see where
 * time goes: {@code eventToBatch} (first event of a batch seen by the watcher to the batch handed
 * to the pipeline: the debounce), {@code batchToCollected} (batch to the end of the collector's
 * run: queueing on the executor and {@code collect}), {@code collectedToPublished} (serializing,
 * comparing and {@code publish}), and {@code eventToPublished}, the whole way, for runs that
 * published.
 *
 * @param collectors per topic
 * @param batches batches received from the watcher
 * @param changes changes in them
 * @param watch the watcher's own stats (backend, switches to polling, rescans)
 * @param contentCache the cache behind {@link CollectContext#readBytes}
 */
public record PipelineStats(
    Map<String, CollectorStats> collectors,
    long batches,
    long changes,
    LatencySnapshot eventToBatch,
    LatencySnapshot batchToCollected,
    LatencySnapshot collectedToPublished,
    LatencySnapshot eventToPublished,
    WatchStats watch,
    CacheStats contentCache) {

  public PipelineStats {
    collectors = Map.copyOf(collectors);
  }
}
