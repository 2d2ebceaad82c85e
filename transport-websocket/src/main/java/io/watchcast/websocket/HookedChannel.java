package io.watchcast.websocket;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;
import java.util.Queue;
import org.java_websocket.WrappedByteChannel;

/**
 * The socket as Java-WebSocket sees it, with three hooks: the {@link Frames#PULL} marker in the
 * write path (the moment everything queued before it has been written, the connection pulls its
 * next batch from the hub), a cap on handshake bytes in the read path (431 past it), and the end of
 * the connection in {@link #close()}: after a flush the socket lingers ({@link Lingerer}), a
 * dropped dead peer is reset, anything else is closed. Read by the selector thread; written by the
 * selector thread and, for idle connections, by the transport's writer thread ({@link #writeNow}),
 * one at a time.
 *
 * <p>A slow consumer's socket is not simply closed: {@link #dropUnsent} leaves its close frame
 * right behind what the kernel holds; once that frame is written the socket lingers like any other,
 * but is reset at the deadline, and one whose close frame never left is reset at once, so that an
 * orphaned socket never keeps old frames in the kernel for its client.
 */
class HookedChannel implements ByteChannel {
  private final SocketChannel socket;

  /** What reads and writes go through: the socket itself, or a TLS channel over it. */
  final ByteChannel inner;

  private final WsConnection connection;
  // Serializes the selector's writes with the writer thread's direct writes of one connection.
  final Object writeLock = new Object();
  // The opening handshake's bytes so far, up to its blank line; selector thread only.
  private int handshakeBytes;
  private int blankLineMatched; // how much of CRLF CRLF the last bytes matched
  private boolean handshakeRead;
  // An HTTP response to write as the socket's last bytes (431), or null.
  ByteBuffer refusal;

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
    return counted(dst, inner.read(dst));
  }

  /**
   * Counts the opening handshake's bytes, up to and including the blank line that ends it, against
   * {@link WebSocketTransport#MAX_HANDSHAKE_BYTES}. Past it, the connection is refused with 431:
   * the IOException makes Java-WebSocket close it, and {@link #close()} lets the socket linger with
   * the response as its last bytes (the client is most likely still sending its header).
   */
  final int counted(ByteBuffer dst, int n) throws IOException {
    if (n <= 0 || handshakeRead) {
      return n;
    }
    int end = dst.position();
    for (int i = end - n; i < end; i++) {
      if (++handshakeBytes > WebSocketTransport.MAX_HANDSHAKE_BYTES) {
        String message =
            "handshake larger than " + WebSocketTransport.MAX_HANDSHAKE_BYTES + " bytes";
        refusal = new Rejection(431, message).response();
        connection.refusedLargeHandshake();
        throw new IOException(message);
      }
      byte b = dst.get(i);
      blankLineMatched =
          b == "\r\n\r\n".charAt(blankLineMatched) ? blankLineMatched + 1 : b == '\r' ? 1 : 0;
      if (blankLineMatched == 4) {
        handshakeRead = true;
        return n;
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

  /**
   * Java-WebSocket closes the connection. After it wrote its last bytes (a close frame, an HTTP
   * error response), the socket lingers so that they arrive; a dropped dead peer is reset, so that
   * neither side keeps the data queued for it; otherwise the socket is closed.
   */
  @Override
  public void close() throws IOException {
    try {
      if (connection.resetOnClose() || (connection.slowConsumer() && !connection.lingerOnClose())) {
        // A dropped dead peer, or a slow consumer whose close frame never left: a reset, so that
        // neither side keeps what was queued for the other.
        resetOnClose(socket);
        socket.close();
      } else if (!connection.lingerOnClose() || !linger()) {
        closeNow();
      }
    } finally {
      connection.ended();
    }
  }

  private boolean linger() {
    ByteBuffer tail;
    try {
      tail = lastBytes();
    } catch (IOException | RuntimeException e) {
      return false;
    }
    return connection.engine.lingerer.linger(
        socket, tail, connection.lingerDeadlineNanos(), connection.slowConsumer());
  }

  /**
   * What to write before lingering: the {@link #refusal}, if any; over TLS, as records, followed by
   * close_notify.
   */
  ByteBuffer lastBytes() throws IOException {
    return refusal;
  }

  private void closeNow() throws IOException {
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
  }

  /**
   * Makes the socket's close a reset (SO_LINGER 0), so that the kernel drops what it still holds
   * for the client: the client reads what its own receive buffer holds, then the reset.
   */
  static void resetOnClose(SocketChannel socket) {
    try {
      socket.setOption(StandardSocketOptions.SO_LINGER, 0);
    } catch (IOException | RuntimeException e) {
      // closed already
    }
  }

  /**
   * Drops what waits in Java-WebSocket's {@code queue} for this connection, but the rest of a frame
   * the socket has partly taken, so that what is queued next follows what the kernel holds. The
   * head of the queue is cut, never removed: the selector may be about to write it and then poll
   * it. Call with the connection's monitor held; takes the write lock, so no write is under way.
   */
  void dropUnsent(Queue<ByteBuffer> queue) {
    synchronized (writeLock) {
      Iterator<ByteBuffer> it = queue.iterator();
      boolean head = true;
      while (it.hasNext()) {
        ByteBuffer b = it.next();
        if (keep(b)) {
          // a marker, or written
        } else if (head) {
          b.limit(b.position() == 0 ? 0 : Frames.endOfFrame(b, b.position()));
        } else {
          it.remove();
        }
        head = false;
      }
    }
  }

  /** Whether {@link #dropUnsent} must leave {@code b} as it is. */
  boolean keep(ByteBuffer b) {
    return b == Frames.PULL || !b.hasRemaining();
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
      return askToWriteIfNeeded(counted(dst, tls.readMore(dst)));
    }

    @Override
    ByteBuffer lastBytes() throws IOException {
      synchronized (writeLock) {
        if (refusal != null) {
          tls.write(refusal); // what the socket does not take stays in the TLS channel's records
        }
        return tls.closeNotify();
      }
    }

    private int askToWriteIfNeeded(int read) {
      if (tls.isNeedWrite()) {
        owner.engine.onWriteDemand(owner.ws);
      }
      return read;
    }

    /** Also the marker that keeps the queue open while records wait (and it may be the head). */
    @Override
    boolean keep(ByteBuffer b) {
      return b == flush || super.keep(b);
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
