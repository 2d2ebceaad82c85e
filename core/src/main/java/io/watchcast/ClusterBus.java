package io.watchcast;

import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * A way to share a hub's topics across processes: the cluster, not the hub, gives every message its
 * id and epoch, keeps the shared history, and tells every node (the publishing one included) of
 * every message, so that all nodes hold the same stream per topic and a client can resume on any of
 * them. Set with {@link ConnectionManager.Builder#clusterBus}; without one (the default) a hub is
 * alone and assigns ids itself.
 *
 * <p>How the hub uses a bus: a publish goes through the topic's throttle on the publishing node,
 * then {@link #append} (blocking, on the publishing thread or the throttle scheduler, never under a
 * hub lock). Every node applies the messages the bus hands to its {@link Sink} in id order, on one
 * thread of the hub's; a gap (a lost notification) is filled with {@link #read}, and when the
 * cluster no longer holds what a node lacks, or its epoch changed (the cluster lost its data), the
 * node adopts the cluster's state and its subscribers get {@code reset}.
 *
 * <p>Implementations must be thread-safe: {@link #append} and {@link #read} are called from many
 * threads at once. The hub calls {@link #start} once, from {@link ConnectionManager.Builder#build},
 * and {@link #close} from {@link ConnectionManager#close}.
 */
public interface ClusterBus extends AutoCloseable {

  /**
   * Starts delivering the cluster's messages to {@code sink}; may start threads and connect. A bus
   * that cannot connect yet keeps trying in the background and calls {@link Sink#connected()} once
   * it can.
   */
  void start(Sink sink);

  /**
   * Appends one message to the topic's shared stream, which assigns its id (one more than the last)
   * and, for a topic new to the cluster, its epoch; then notifies every node. Blocking.
   *
   * @param historySize how many messages of this topic the cluster should keep for resume
   * @return the id the cluster assigned
   * @throws IOException if the cluster could not be reached or refused the message; the message
   *     then was not appended
   */
  long append(String topic, String type, byte[] data, long timestamp, int historySize)
      throws IOException;

  /**
   * The topic as the cluster holds it: its epoch, last id, and at most {@code limit} of its newest
   * messages, oldest first: those with an id greater than {@code afterId} when {@code epoch} is the
   * cluster's epoch of the topic, else the newest ones whatever their id. Blocking.
   *
   * @param epoch the epoch the caller holds, or null
   * @return a log whose epoch is null when the cluster does not know the topic
   * @throws IOException if the cluster could not be reached
   */
  Log read(String topic, String epoch, long afterId, int limit) throws IOException;

  /** Stops delivering and releases connections and threads. Idempotent. */
  @Override
  void close();

  /** Where a bus delivers the cluster's messages; implemented by the hub. Thread-safe. */
  interface Sink {
    /**
     * One message of the cluster, in the cluster's order per topic. Never blocks (the hub queues it
     * for its cluster thread); called on the bus's own thread.
     */
    void message(Message message);

    /**
     * The bus (re)connected and messages may have been missed while it was not: the hub re-reads
     * every topic it knows. Called on the bus's own thread, also after the first connect.
     */
    void connected();
  }

  /** A message as the cluster stored it. {@code data} is JSON in UTF-8. */
  record Message(String topic, long id, String epoch, String type, long timestamp, byte[] data) {
    public Message {
      Objects.requireNonNull(topic, "topic");
      Objects.requireNonNull(epoch, "epoch");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(data, "data");
    }
  }

  /**
   * A topic's state in the cluster: {@code epoch} (null when the cluster does not know the topic),
   * {@code lastId}, and the newest messages asked for, oldest first.
   */
  record Log(String epoch, long lastId, List<Message> messages) {
    public Log {
      messages = List.copyOf(messages);
    }
  }
}
