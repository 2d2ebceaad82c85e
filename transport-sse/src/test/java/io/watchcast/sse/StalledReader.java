package io.watchcast.sse;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A hostile client on a raw socket: sends a request, reads the response headers, then stops
 * reading, with a small receive buffer so that the server's writes back up quickly.
 */
final class StalledReader implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;

  private StalledReader(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
  }

  static StalledReader open(Harness h, String pathAndQuery) throws IOException {
    Socket s = new Socket();
    s.setReceiveBufferSize(4096);
    s.connect(new java.net.InetSocketAddress("127.0.0.1", h.transport.port()), 5000);
    s.setSoTimeout(10_000);
    s.getOutputStream()
        .write(
            ("GET "
                    + pathAndQuery
                    + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return new StalledReader(s);
  }

  /** Reads up to the end of the response headers, then never again. */
  String awaitHeaders() throws IOException {
    StringBuilder sb = new StringBuilder();
    while (!sb.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before headers: " + sb);
      }
      sb.append((char) b);
    }
    return sb.toString();
  }

  /** Whether the server has closed or reset the connection: reads (drains) until EOF or reset. */
  boolean isClosedByServer() throws IOException {
    return readToEnd() >= 0;
  }

  /**
   * Reads again until the server ends the connection, with a FIN or a reset; returns the bytes read
   * on the way, or -1 if it did not end within 10 s.
   */
  long readToEnd() throws IOException {
    socket.setSoTimeout(10_000);
    byte[] buf = new byte[1 << 16];
    long total = 0;
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        total += n;
      }
      return total;
    } catch (SocketTimeoutException e) {
      return -1;
    } catch (IOException e) {
      return total; // reset
    }
  }

  /**
   * Reads again until the event of a topic message with {@code id} or a later one (its envelope's
   * {@code "id":}); returns the bytes read up to it. Fails on the end of the stream or after 10 s.
   */
  long readUntilMessage(long id) throws IOException {
    socket.setSoTimeout(10_000);
    byte[] key = "\"id\":".getBytes(StandardCharsets.US_ASCII);
    long total = 0;
    int matched = 0;
    long value = -1;
    for (int b; (b = in.read()) >= 0; ) {
      total++;
      if (value >= 0) {
        if (b >= '0' && b <= '9') {
          value = value * 10 + (b - '0');
          continue;
        }
        if (value >= id) {
          return total;
        }
        value = -1;
      }
      matched = b == key[matched] ? matched + 1 : (b == key[0] ? 1 : 0);
      if (matched == key.length) {
        matched = 0;
        value = 0;
      }
    }
    throw new IOException("the stream ended after " + total + " bytes, before message " + id);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
