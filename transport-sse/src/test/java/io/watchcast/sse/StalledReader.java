package io.watchcast.sse;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A hostile client on a raw socket: sends a request, reads the response headers, then stops
 * reading, with a small receive buffer so that the server's writes back up quickly.
 */
final class StalledReader implements AutoCloseable {
  private final Socket socket;

  private StalledReader(Socket socket) {
    this.socket = socket;
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
    InputStream in = socket.getInputStream();
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
  boolean isClosedByServer() {
    try {
      socket.setSoTimeout(10_000);
      InputStream in = socket.getInputStream();
      byte[] buf = new byte[1 << 16];
      while (in.read(buf) >= 0) {
        // drain what the kernel holds
      }
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
