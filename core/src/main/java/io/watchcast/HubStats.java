package io.watchcast;

import java.util.Map;

/**
 * A point-in-time view of a hub's counters, from {@link ConnectionManager#stats()}. Immutable and
 * thread-safe. Counters are totals since the hub was built; {@code queuedBytes} and {@code
 * laggingConnections} are values now.
 *
 * @param connections open connections
 * @param topics topics known to the hub (declared, published or subscribed)
 * @param subscribers subscribers per topic (connections subscribed through {@code *} included)
 * @param published calls to {@code publish} that were accepted
 * @param emitted messages emitted on topics after throttling (each got a sequence id)
 * @param delivered messages handed to transports (one per message per connection)
 * @param dropped messages discarded undelivered from a connection's queue because it closed
 * @param conflated values replaced by a newer one of a {@code latest} topic, in the topic's window
 *     or in a connection's queue
 * @param slowConsumersClosed connections closed because their queue passed its byte limit: they
 *     read nothing for {@link Limits#stallTimeout()}, or the message could not wait in a history
 * @param publishFailures publishes refused: data that failed to serialize, too many topics, a
 *     closed hub, or (with a {@link ClusterBus}) a message the cluster did not take
 * @param clientErrors client messages answered with an {@code error}
 * @param queuedBytes bytes of live messages waiting in connections' queues now, the sum that {@link
 *     Limits#maxHubQueuedBytes()} bounds (a message queued for several connections counts once for
 *     each; history replayed for a resume or a catch-up is not counted)
 * @param laggingConnections connections lagging on at least one topic now: they passed a queue
 *     limit while reading, and catch up from the topics' history (see {@link Session})
 * @param lagged times a connection began to lag on a topic
 * @param caughtUp times a lagging connection caught up with a topic and took its live messages
 *     again
 * @param overflowResets times a lagging connection fell off a topic's history and was sent {@code
 *     reset} (reason {@code overflow}) and the snapshot instead of what it missed
 */
public record HubStats(
    int connections,
    int topics,
    Map<String, Integer> subscribers,
    long published,
    long emitted,
    long delivered,
    long dropped,
    long conflated,
    long slowConsumersClosed,
    long publishFailures,
    long clientErrors,
    long queuedBytes,
    int laggingConnections,
    long lagged,
    long caughtUp,
    long overflowResets) {

  public HubStats {
    subscribers = Map.copyOf(subscribers);
  }
}
