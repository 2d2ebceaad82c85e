package io.watchcast.collect;

/**
 * One collector's counters, from {@link PipelineStats#collectors()}. Immutable and thread-safe.
 *
 * @param topic the collector's topic
 * @param runs calls to {@code collect}
 * @param published values published (the value differed from the last one published)
 * @param unchanged runs whose value equalled the last one, so nothing was published
 * @param failures runs that threw (or whose value could not be serialized)
 * @param reruns runs made because changes arrived while it was running
 * @param lastError the message of the last failure, or null if the last run succeeded
 */
public record CollectorStats(
    String topic,
    long runs,
    long published,
    long unchanged,
    long failures,
    long reruns,
    String lastError) {}
