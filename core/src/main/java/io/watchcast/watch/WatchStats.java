package io.watchcast.watch;

/**
 * A point-in-time view of one watch, from {@link WatchHandle#stats()}. Immutable and thread-safe.
 * Counters are totals since the watch started.
 *
 * @param backend the backend in use now
 * @param switchedToPolling whether the watch started native and now polls
 * @param switchReason why it switched (a failed health check, the inotify limit), or null
 * @param failed whether the watch stopped on an error (see {@link WatchListener#onError})
 * @param watchedDirectories directories registered with the native backend now (0 when polling)
 * @param knownFiles files the watch knows now (what it would report as deleted if the root went)
 * @param batches batches delivered
 * @param changes changes delivered, over all batches
 * @param rescans subtree rescans after lost events (overflow, lost watch, switch to polling)
 * @param overflows overflow events received from the native backend
 * @param listenerFailures batches whose listener threw
 * @param healthChecks health checks passed
 */
public record WatchStats(
    WatchOptions.Backend backend,
    boolean switchedToPolling,
    String switchReason,
    boolean failed,
    int watchedDirectories,
    int knownFiles,
    long batches,
    long changes,
    long rescans,
    long overflows,
    long listenerFailures,
    long healthChecks) {}
