package io.watchcast.websocket;

/**
 * Decides at the opening handshake whether a client may connect, and who it is. Sees the request
 * path, query, headers, cookies and remote address; returns {@link Authentication#allow(Object)},
 * {@link Authentication#anonymous()}, or a refusal that the client receives as HTTP 401 or 403 (the
 * WebSocket is never opened).
 *
 * <p>Runs after the origin check and the connection limits, on one of the transport's worker
 * threads (the thread that decodes that client's bytes), with no lock of the transport or the hub
 * held. It must be thread-safe and should be fast: while it runs, the other clients served by the
 * same worker wait. An exception it throws refuses the client with HTTP 500 and is logged.
 *
 * <p>Per-topic decisions belong to the hub's {@code io.watchcast.Authorizer}, which sees the
 * principal returned here through {@code Connection.principal()}.
 */
@FunctionalInterface
public interface Authenticator {

  /** The decision for {@code handshake}; never null. */
  Authentication authenticate(Handshake handshake);

  /** Lets every client in with no principal: the default. */
  static Authenticator anonymous() {
    return handshake -> Authentication.anonymous();
  }
}
