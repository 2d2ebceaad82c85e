package io.watchcast;

/**
 * Decides whether a connection may subscribe to a topic. A refusal answers the client with an
 * {@code error} of code {@code forbidden}; the connection stays open.
 *
 * <p>Called on the transport thread that received the subscribe action, with no lock of the hub
 * held. For {@code *} it is called once with the topic {@code "*"}. Implementations must be
 * thread-safe and should be fast: they delay that connection's other messages.
 */
@FunctionalInterface
public interface Authorizer {

  /** Whether {@code connection} (see {@link Connection#principal()}) may subscribe to topic. */
  boolean canSubscribe(Connection connection, String topic);

  /** Allows everything: the default. */
  static Authorizer allowAll() {
    return (connection, topic) -> true;
  }
}
