package io.watchcast.websocket;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.java_websocket.handshake.HandshakeImpl1Server;

/**
 * A refused handshake: an HTTP error response in place of {@code 101 Switching Protocols}. Handed
 * to Java-WebSocket as the "server handshake"; {@link WatchcastDraft} writes it as is.
 */
final class Rejection extends HandshakeImpl1Server {
  final int status;
  final String reason;
  private final String headers;

  Rejection(int status, String reason) {
    this(status, reason, "");
  }

  /** With {@code headers}: more header lines, each ending in CRLF. */
  Rejection(int status, String reason, String headers) {
    this.status = status;
    this.reason = Frames.truncateUtf8(reason.replace('\r', ' ').replace('\n', ' '), 512);
    this.headers = headers;
  }

  ByteBuffer response() {
    byte[] body = (reason + "\n").getBytes(StandardCharsets.UTF_8);
    String head =
        "HTTP/1.1 "
            + status
            + " "
            + phrase(status)
            + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
            + body.length
            + "\r\nConnection: close\r\nCache-Control: no-store\r\n"
            + headers
            + "\r\n";
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.allocate(h.length + body.length);
    b.put(h).put(body).flip();
    return b;
  }

  static String phrase(int status) {
    switch (status) {
      case 400:
        return "Bad Request";
      case 401:
        return "Unauthorized";
      case 403:
        return "Forbidden";
      case 404:
        return "Not Found";
      case 426:
        return "Upgrade Required";
      case 429:
        return "Too Many Requests";
      case 431:
        return "Request Header Fields Too Large";
      case 503:
        return "Service Unavailable";
      default:
        return "Internal Server Error";
    }
  }

  @Override
  public String toString() {
    return status + " " + reason;
  }
}
