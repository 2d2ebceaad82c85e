package io.watchcast.websocket;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;

/**
 * The socket as Java-WebSocket sees it, with three hooks: the {@link Frames#PULL} marker in the
 * write path (the moment everything queued before it has been written, the connection pulls its
 * next batch from the hub), a cap on handshake bytes in the read path, and the end of the
 * connection in {@link #close()}. Read by the selector thread; written by the selector thread and,
 * for idle connections, by the transport's writer thread ({@link #writeNow}), one at a time.
 */
final class HookedChannel implements ByteChannel {
  private final SocketChannel socket;
  private final WsConnection connection;
  // Serializes the selector's writes with the writer thread's direct writes of one connection.
  private final Object writeLock = new Object();
  private int handshakeBytes;

  HookedChannel(SocketChannel socket, WsConnection connection) {
    this.socket = socket;
    this.connection = connection;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    int n = socket.read(dst);
    if (n > 0 && connection.awaitingHandshake()) {
      handshakeBytes += n;
      if (handshakeBytes > WebSocketTransport.MAX_HANDSHAKE_BYTES) {
        throw new IOException(
            "handshake larger than " + WebSocketTransport.MAX_HANDSHAKE_BYTES + " bytes");
      }
    }
    return n;
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    if (src == Frames.PULL) {
      connection.pull();
      return 0;
    }
    return writeNow(src);
  }

  /** Writes what the socket takes now, without blocking: from the selector or the writer thread. */
  int writeNow(ByteBuffer src) throws IOException {
    int n;
    synchronized (writeLock) {
      n = socket.write(src);
    }
    if (n > 0) {
      connection.engine.bytesSent.add(n);
    }
    return n;
  }

  @Override
  public boolean isOpen() {
    return socket.isOpen();
  }

  @Override
  public void close() throws IOException {
    try {
      socket.close();
    } finally {
      connection.ended();
    }
  }
}
