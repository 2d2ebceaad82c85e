package io.watchcast.websocket;

import java.util.Base64;
import org.java_websocket.handshake.ClientHandshake;

/**
 * What RFC 6455 4.2.1 requires of an opening handshake, checked before anything else:
 * Java-WebSocket 1.6.0 upgrades a request without {@code Upgrade: websocket}, without the {@code
 * upgrade} token in {@code Connection} or with a malformed {@code Sec-WebSocket-Key}, and answers
 * another version with a bare 404.
 */
final class UpgradeCheck {
  private UpgradeCheck() {}

  /** Null if {@code request} is a well-formed version 13 upgrade; otherwise the refusal. */
  static Rejection check(ClientHandshake request) {
    if (!hasToken(request.getFieldValue("Upgrade"), "websocket")) {
      return new Rejection(400, "not a WebSocket handshake: 'Upgrade: websocket' is missing");
    }
    if (!hasToken(request.getFieldValue("Connection"), "upgrade")) {
      return new Rejection(400, "not a WebSocket handshake: 'Connection: Upgrade' is missing");
    }
    if (!isVersion13(request)) {
      // RFC 6455 4.4: name the versions the server speaks.
      return new Rejection(
          426, "only WebSocket version 13 is supported", "Sec-WebSocket-Version: 13\r\n");
    }
    if (!isValidKey(request.getFieldValue("Sec-WebSocket-Key"))) {
      return new Rejection(400, "Sec-WebSocket-Key must be the base64 encoding of 16 bytes");
    }
    return null;
  }

  static boolean isVersion13(ClientHandshake request) {
    return request.getFieldValue("Sec-WebSocket-Version").trim().equals("13");
  }

  /**
   * Whether the comma-separated {@code value} holds {@code token}, in any case. Java-WebSocket
   * joins a repeated header's values with "; ", so that separates tokens too.
   */
  static boolean hasToken(String value, String token) {
    for (String t : value.split("[,;]")) {
      if (t.trim().equalsIgnoreCase(token)) {
        return true;
      }
    }
    return false;
  }

  static boolean isValidKey(String value) {
    String key = value.trim();
    if (key.length() != 24) {
      return false;
    }
    try {
      return Base64.getDecoder().decode(key).length == 16;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
