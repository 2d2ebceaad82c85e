package io.watchcast.websocket;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** A WebSocket client over a plain socket, for what a well-behaved client would never send. */
final class RawClient implements AutoCloseable {
  record Frame(int opcode, byte[] payload) {
    String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    int closeCode() {
      return ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
    }

    String closeReason() {
      return new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8);
    }
  }

  final Socket socket;
  final DataInputStream in;
  final OutputStream out;
  String statusLine;

  RawClient(int port) throws IOException {
    this(port, 0);
  }

  /** With {@code receiveBuffer} > 0, a small socket receive buffer (a reader that fills fast). */
  RawClient(int port, int receiveBuffer) throws IOException {
    this(port, receiveBuffer, null);
  }

  /** Over TLS (trusting what {@code context} trusts), with a small receive buffer if > 0. */
  static RawClient overTls(int port, int receiveBuffer, javax.net.ssl.SSLContext context)
      throws IOException {
    javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket();
    if (receiveBuffer > 0) {
      s.setReceiveBufferSize(receiveBuffer);
    }
    s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    s.setSoTimeout(20_000);
    s.startHandshake();
    return new RawClient(s);
  }

  private RawClient(Socket connected) throws IOException {
    socket = connected;
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  /** From the local address {@code from} (such as 127.0.0.2), when not null. */
  RawClient(int port, int receiveBuffer, String from) throws IOException {
    socket = new Socket();
    if (from != null) {
      socket.bind(new InetSocketAddress(from, 0));
    }
    if (receiveBuffer > 0) {
      socket.setReceiveBufferSize(receiveBuffer);
    }
    socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    socket.setSoTimeout(20_000);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  /** Sends an opening handshake and reads the response head; returns the status code. */
  int handshake(String target, Map<String, String> headers) throws IOException {
    return request(handshakeHead(target, headers));
  }

  /** A valid opening handshake for {@code target} with {@code headers} added. */
  static String handshakeHead(String target, Map<String, String> headers) {
    StringBuilder b = new StringBuilder();
    b.append("GET ").append(target).append(" HTTP/1.1\r\n");
    b.append("Host: 127.0.0.1\r\n");
    b.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
    b.append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
    headers.forEach((k, v) -> b.append(k).append(": ").append(v).append("\r\n"));
    b.append("\r\n");
    return b.toString();
  }

  /** Sends {@code head} as it is (request line, headers, blank line); returns the status code. */
  int request(String head) throws IOException {
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return readResponseHead();
  }

  String responseHead;

  int readResponseHead() throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException("no response head");
      }
      head.write(c);
      matched = (c == "\r\n\r\n".charAt(matched)) ? matched + 1 : (c == '\r' ? 1 : 0);
    }
    responseHead = head.toString(StandardCharsets.US_ASCII);
    statusLine = responseHead.substring(0, responseHead.indexOf("\r\n"));
    return Integer.parseInt(statusLine.split(" ")[1]);
  }

  void sendFrame(int opcode, byte[] payload) throws IOException {
    sendFrame(opcode, payload, true);
  }

  void sendFrame(int opcode, byte[] payload, boolean fin) throws IOException {
    out.write(frame(opcode, payload, fin));
    out.flush();
  }

  void sendText(String text) throws IOException {
    sendFrame(1, text.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] frame(int opcode, byte[] payload, boolean fin) {
    return frame(opcode, payload, fin, true);
  }

  /** A frame as a client sends it, or with {@code masked} false, as no client may. */
  static byte[] frame(int opcode, byte[] payload, boolean fin, boolean masked) {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    f.write((fin ? 0x80 : 0) | opcode);
    int maskBit = masked ? 0x80 : 0;
    int n = payload.length;
    if (n < 126) {
      f.write(maskBit | n);
    } else if (n <= 0xFFFF) {
      f.write(maskBit | 126);
      f.write(n >>> 8);
      f.write(n);
    } else {
      f.write(maskBit | 127);
      for (int i = 7; i >= 0; i--) {
        f.write((int) ((long) n >>> (8 * i)));
      }
    }
    byte[] mask = new byte[4];
    if (masked) {
      ThreadLocalRandom.current().nextBytes(mask);
      f.write(mask, 0, 4);
    }
    for (int i = 0; i < n; i++) {
      f.write(payload[i] ^ mask[i % 4]);
    }
    return f.toByteArray();
  }

  Frame readFrame() throws IOException {
    int b0 = in.readUnsignedByte();
    int b1 = in.readUnsignedByte();
    long n = b1 & 0x7F;
    if (n == 126) {
      n = in.readUnsignedShort();
    } else if (n == 127) {
      n = in.readLong();
    }
    if ((b1 & 0x80) != 0) {
      throw new IOException("server frames must not be masked");
    }
    byte[] payload = new byte[(int) n];
    in.readFully(payload);
    return new Frame(b0 & 0x0F, payload);
  }

  /** Reads frames until a close frame; returns it. Sends nothing. */
  Frame readUntilClose() throws IOException {
    while (true) {
      Frame f = readFrame();
      if (f.opcode() == 8) {
        return f;
      }
    }
  }

  /** Whether the server closed the TCP connection (EOF) within the socket timeout. */
  boolean awaitEof() throws IOException {
    InputStream s = socket.getInputStream();
    byte[] sink = new byte[8192];
    try {
      while (true) {
        if (s.read(sink) < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
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
