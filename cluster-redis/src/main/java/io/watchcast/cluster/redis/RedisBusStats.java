package io.watchcast.cluster.redis;

/**
 * A point-in-time view of a {@link RedisClusterBus}'s counters. Immutable and thread-safe.
 *
 * @param connected whether the subscriber connection is up now
 * @param appended messages Redis took
 * @param appendFailures messages Redis did not take (unreachable, timed out, refused); each made a
 *     publish return false
 * @param received messages received on the channel
 * @param connects successful (re)subscriptions to the channel, the first one included
 */
public record RedisBusStats(
    boolean connected, long appended, long appendFailures, long received, long connects) {}
