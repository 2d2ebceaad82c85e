package io.watchcast.websocket;

/**
 * Counters of a {@link WebSocketTransport} since it started. Immutable; a snapshot.
 *
 * @param connections open WebSocket connections now
 * @param opened connections that completed the handshake
 * @param rejected handshakes refused (path, origin, limits, authentication, bad query)
 * @param framesSent server text frames handed to the socket layer
 * @param writes buffers handed to the socket layer for those frames: a backlogged connection gets
 *     all its waiting frames in one buffer, so {@code framesSent / writes} is the batching factor
 * @param bytesSent bytes written to sockets (frames, handshakes and control frames)
 */
public record WebSocketStats(
    int connections, long opened, long rejected, long framesSent, long writes, long bytesSent) {}
