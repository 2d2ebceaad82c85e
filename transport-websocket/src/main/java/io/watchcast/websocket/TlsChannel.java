package io.watchcast.websocket;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ExecutorService;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import org.java_websocket.SSLSocketChannel2;

/**
 * Java-WebSocket's TLS channel, with one repair and one window into its state. Driven by the
 * selector thread only (reads, writes, {@code writeMore}); closed under the connection's write
 * lock.
 */
final class TlsChannel extends SSLSocketChannel2 {

  TlsChannel(SocketChannel channel, SSLEngine engine, ExecutorService tasks, SelectionKey key)
      throws IOException {
    super(channel, engine, tasks, key);
  }

  /** Whether TLS records have been made that the socket has not taken yet. */
  boolean recordsPending() {
    return outCrypt != null && outCrypt.hasRemaining();
  }

  /**
   * Ends the TLS session without closing the socket: the records still unwritten, if any, and
   * close_notify, for the socket's last write before it lingers.
   */
  synchronized ByteBuffer closeNotify() throws SSLException {
    sslEngine.closeOutbound();
    int pending = recordsPending() ? outCrypt.remaining() : 0;
    ByteBuffer out = ByteBuffer.allocate(pending + sslEngine.getSession().getPacketBufferSize());
    if (pending > 0) {
      out.put(outCrypt);
    }
    sslEngine.wrap(emptybuffer, out);
    out.flip();
    return out;
  }

  /**
   * Upstream answers true for the whole handshake, so while a client sends nothing after
   * connecting, the selector keeps the connection's write interest and spins a core until the
   * handshake timeout. While the engine waits for the peer, only records already made need writing;
   * read interest covers the rest.
   */
  @Override
  public boolean isNeedWrite() {
    if (sslEngine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_UNWRAP) {
      return recordsPending();
    }
    return super.isNeedWrite();
  }
}
