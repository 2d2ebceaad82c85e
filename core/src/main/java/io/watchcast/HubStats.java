package io.watchcast;

import java.util.Map;

/**
 * A point-in-time view of a hub's counters, from {@link ConnectionManager#stats()}. Immutable and
 * thread-safe. Counters are totals since the hub was built.
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
 * @param slowConsumersClosed connections closed because their queue passed its byte limit
 * @param publishFailures publishes refused: data that failed to serialize, too many topics, a
 *     closed hub, or (with a {@link ClusterBus}) a message the cluster did not take
 * @param clientErrors client messages answered with an {@code error}
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
    long clientErrors) {

  public HubStats {
    subscribers = Map.copyOf(subscribers);
  }
}
