package io.watchcast;

import java.util.Optional;

/**
 * One client, as a transport sees it: the SPI that transports implement and register with {@link
 * ConnectionManager#register(Connection)}.
 *
 * <p>The hub owns the connection's outbound queue (bounded in bytes, see {@link
 * Limits#maxQueuedBytes()}). It never writes to the network itself: it tells the transport that
 * messages are waiting with {@link #messagesAvailable()}, and the transport pulls them with {@link
 * Session#drainTo} when its socket can take them. That keeps every write on the transport's own
 * thread, lets it send everything waiting in one write, and lets the hub conflate or close a slow
 * client before its bytes reach a socket buffer.
 *
 * <p>Implementations must be thread-safe: the hub calls {@link #messagesAvailable()} and {@link
 * #close(CloseReason)} from publisher threads, its scheduler and transport threads, never while
 * holding a lock of its own. Both must return quickly and must not block.
 */
public interface Connection {

  /** An id unique within the transport, for logs and statistics. */
  String id();

  /** The remote address as text, for logs and per-address limits. */
  default String remoteAddress() {
    return "unknown";
  }

  /** What the transport's authentication hook returned for this connection, if anything. */
  default Optional<Object> principal() {
    return Optional.empty();
  }

  /**
   * Messages are waiting in this connection's queue, which was empty before. The transport should
   * arrange, on its own thread, to call {@link Session#drainTo} until it returns 0. Called once per
   * transition from empty to non-empty; must not block and must not call back into the hub.
   */
  void messagesAvailable();

  /**
   * Closes the connection for {@code reason}. Idempotent, non-blocking; the transport need not (but
   * may) call {@link Session#close()} afterwards.
   */
  void close(CloseReason reason);
}
