package io.watchcast.websocket;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import org.java_websocket.WrappedByteChannel;

/**
 * The socket as Java-WebSocket sees it, with three hooks: the {@link Frames#PULL} marker in the
 * write path (the moment everything queued before it has been written, the connection pulls its
 * next batch from the hub), a cap on handshake bytes in the read path, and the end of the
 * connection in {@link #close()}. Read by the selector thread; written by the selector thread and,
 * for idle connections, by the transport's writer thread ({@link #writeNow}), one at a time.
 */
class HookedChannel implements ByteChannel {
  private final SocketChannel socket;

  /** What reads and writes go through: the socket itself, or a TLS channel over it. */
  final ByteChannel inner;

  private final WsConnection connection;
  // Serializes the selector's writes with the writer thread's direct writes of one connection.
  final Object writeLock = new Object();
  private int handshakeBytes;

  HookedChannel(SocketChannel socket, WsConnection connection) {
    this(socket, socket, connection);
  }

  HookedChannel(SocketChannel socket, ByteChannel inner, WsConnection connection) {
    this.socket = socket;
    this.inner = inner;
    this.connection = connection;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return counted(inner.read(dst));
  }

  /** Counts bytes read while the opening handshake is still due, against its cap. */
  final int counted(int n) throws IOException {
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
      n = inner.write(src);
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
      if (inner != socket) {
        try {
          // TLS: close_notify, then the socket. Under the write lock: closing writes a record
          // into the same buffer the selector's writes use, and may run on another thread.
          synchronized (writeLock) {
            inner.close();
          }
        } finally {
          socket.close();
        }
      } else {
        socket.close();
      }
    } finally {
      connection.ended();
    }
  }

  /** Whether reads and writes go through TLS. */
  boolean isTls() {
    return inner != socket;
  }

  /**
   * Over TLS: Java-WebSocket's selector asks a {@link WrappedByteChannel} for the TLS records it
   * still has to write or has read ahead; these pass the questions to the TLS channel.
   */
  static final class Tls extends HookedChannel implements WrappedByteChannel {
    private final TlsChannel tls;
    private final WsConnection owner;
    // A marker queued behind the last frame while its records are still partly unwritten, so
    // that the queue does not look empty (which would drop write interest, or let a closing
    // connection close before its close frame left). Selector thread only.
    private final ByteBuffer flush = ByteBuffer.allocate(1);
    private boolean flushQueued;

    Tls(SocketChannel socket, TlsChannel tls, WsConnection connection) {
      super(socket, tls, connection);
      this.tls = tls;
      this.owner = connection;
    }

    /** Selector thread: Java-WebSocket's write pass over the connection's queue. */
    @Override
    public int write(ByteBuffer src) throws IOException {
      if (src == flush) {
        synchronized (writeLock) {
          if (tls.recordsPending()) {
            tls.writeMore();
          }
        }
        if (!tls.recordsPending()) {
          flush.position(flush.limit()); // consumed: the queue may now end
          flushQueued = false;
        }
        return 0;
      }
      int n = super.write(src);
      if (src != Frames.PULL && !src.hasRemaining() && !flushQueued && tls.recordsPending()) {
        flush.clear();
        flushQueued = true;
        owner.ws.outQueue.add(flush);
      }
      return n;
    }

    /**
     * Selector thread. A read can move the TLS handshake on to a step that writes (with {@link
     * TlsChannel#isNeedWrite} quiet while it waited for the peer, nothing else asks for that).
     */
    @Override
    public int read(ByteBuffer dst) throws IOException {
      return askToWriteIfNeeded(super.read(dst));
    }

    @Override
    public int readMore(ByteBuffer dst) throws IOException {
      return askToWriteIfNeeded(counted(tls.readMore(dst)));
    }

    private int askToWriteIfNeeded(int read) {
      if (tls.isNeedWrite()) {
        owner.engine.onWriteDemand(owner.ws);
      }
      return read;
    }

    /** Records made but not yet written (the housekeeping tick re-arms write interest). */
    boolean recordsPending() {
      return tls.recordsPending();
    }

    @Override
    public boolean isNeedWrite() {
      return tls.isNeedWrite();
    }

    @Override
    public void writeMore() throws IOException {
      synchronized (writeLock) {
        tls.writeMore();
      }
    }

    @Override
    public boolean isNeedRead() {
      return tls.isNeedRead();
    }

    @Override
    public boolean isBlocking() {
      return tls.isBlocking();
    }
  }
}
