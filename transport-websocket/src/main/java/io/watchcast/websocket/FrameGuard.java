package io.watchcast.websocket;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import org.java_websocket.exceptions.InvalidDataException;
import org.java_websocket.exceptions.InvalidFrameException;
import org.java_websocket.exceptions.LimitExceededException;
import org.java_websocket.framing.CloseFrame;

/**
 * Reads the headers of a client's frames as their bytes arrive, before Java-WebSocket 1.6.0 parses
 * them, for three checks it does not make:
 *
 * <ul>
 *   <li>every client frame is masked (RFC 6455 5.1), else 1002;
 *   <li>a fragmented message stays within the message limit: the fragment whose header would take
 *       it past the limit closes the connection with 1009, before its payload is buffered (upstream
 *       checks only the first fragment and the completed message);
 *   <li>a close frame's reason is UTF-8, else 1007 (upstream fails with a NullPointerException that
 *       its worker logs and ignores, leaving the connection open).
 * </ul>
 *
 * One per connection, used by its worker thread only; it never consumes the bytes it looks at.
 */
final class FrameGuard {
  private final int maxMessageBytes;
  private final byte[] header = new byte[14];
  private int headerRead;
  private long payloadLeft;
  // Payload bytes of the fragmented message so far; 0 outside one.
  private long messageBytes;
  // The payload of a close frame being read (at most 125 bytes), unmasked; null otherwise.
  private byte[] closePayload;
  private int closeRead;

  FrameGuard(int maxMessageBytes) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Looks at {@code in} from its position to its limit; throws at the first violation. */
  void check(ByteBuffer in) throws InvalidDataException {
    int i = in.position();
    int end = in.limit();
    while (i < end) {
      if (payloadLeft > 0) {
        int n = (int) Math.min(payloadLeft, end - i);
        if (closePayload != null) {
          for (int k = 0; k < n; k++, closeRead++) {
            closePayload[closeRead] =
                (byte) (in.get(i + k) ^ header[headerRead - 4 + closeRead % 4]);
          }
        }
        i += n;
        payloadLeft -= n;
        if (payloadLeft == 0) {
          frameEnded();
        }
        continue;
      }
      header[headerRead++] = in.get(i++);
      if (headerRead == 2 && (header[1] & 0x80) == 0) {
        throw new InvalidFrameException("client frames must be masked");
      }
      if (headerRead >= 2 && headerRead == headerLength()) {
        headerEnded();
      }
    }
  }

  private int headerLength() {
    int len7 = header[1] & 0x7F;
    return 2 + (len7 < 126 ? 0 : len7 == 126 ? 2 : 8) + 4;
  }

  private void headerEnded() throws InvalidDataException {
    int opcode = header[0] & 0x0F;
    boolean fin = (header[0] & 0x80) != 0;
    int len7 = header[1] & 0x7F;
    long length;
    if (len7 < 126) {
      length = len7;
    } else if (len7 == 126) {
      length = ((header[2] & 0xFF) << 8) | (header[3] & 0xFF);
    } else {
      length = 0;
      for (int k = 2; k < 10; k++) {
        length = (length << 8) | (header[k] & 0xFF);
      }
      if (length < 0) {
        throw new LimitExceededException("frame larger than " + maxMessageBytes, maxMessageBytes);
      }
    }
    if (opcode == 1 || opcode == 2) { // a new message; a complete one is checked upstream
      messageBytes = fin ? 0 : length;
    } else if (opcode == 0) {
      messageBytes += length;
    }
    if (messageBytes > maxMessageBytes) {
      throw new LimitExceededException(
          "fragmented message larger than " + maxMessageBytes + " bytes", maxMessageBytes);
    }
    if (opcode == 0 && fin) {
      messageBytes = 0;
    }
    if (opcode == 8 && length >= 2 && length <= 125) {
      closePayload = new byte[(int) length];
      closeRead = 0;
    }
    payloadLeft = length;
    if (length == 0) {
      frameEnded();
    }
  }

  /** The current frame's payload has passed; {@link #header} still holds its mask. */
  private void frameEnded() throws InvalidDataException {
    byte[] close = closePayload;
    headerRead = 0;
    closePayload = null;
    if (close != null) {
      try {
        StandardCharsets.UTF_8
            .newDecoder()
            .decode(ByteBuffer.wrap(close, 2, close.length - 2)); // REPORTs malformed input
      } catch (CharacterCodingException e) {
        throw new InvalidDataException(CloseFrame.NO_UTF8, "close reason is not UTF-8");
      }
    }
  }
}
