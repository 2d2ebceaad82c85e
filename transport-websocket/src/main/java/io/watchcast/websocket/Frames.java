package io.watchcast.websocket;

import io.watchcast.EncodedMessage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Server text frames, built once per message and shared by every connection. */
final class Frames {
  private Frames() {}

  /** A complete, unmasked, final text frame of the message's JSON. */
  static final EncodedMessage.Framing<byte[]> TEXT = EncodedMessage.Framing.of(Frames::textFrame);

  /** A marker queued to the socket layer: "pull the next batch when you reach me". */
  static final ByteBuffer PULL = ByteBuffer.allocate(0).asReadOnlyBuffer();

  static byte[] textFrame(EncodedMessage m) {
    int n = m.size();
    int header = headerLength(n);
    byte[] frame = new byte[header + n];
    writeHeader(frame, n);
    m.copyJsonTo(frame, header);
    return frame;
  }

  static int headerLength(long payload) {
    return payload < 126 ? 2 : payload <= 0xFFFF ? 4 : 10;
  }

  private static void writeHeader(byte[] f, int n) {
    f[0] = (byte) 0x81; // FIN, text
    if (n < 126) {
      f[1] = (byte) n;
    } else if (n <= 0xFFFF) {
      f[1] = 126;
      f[2] = (byte) (n >>> 8);
      f[3] = (byte) n;
    } else {
      f[1] = 127;
      long len = n;
      for (int i = 0; i < 8; i++) {
        f[2 + i] = (byte) (len >>> (56 - 8 * i));
      }
    }
  }

  /** The frames of {@code messages}, back to back in one buffer. */
  static ByteBuffer concat(List<EncodedMessage> messages) {
    if (messages.size() == 1) {
      return ByteBuffer.wrap(messages.get(0).framed(TEXT));
    }
    int total = 0;
    for (int i = 0; i < messages.size(); i++) {
      total += messages.get(i).framed(TEXT).length;
    }
    byte[] out = new byte[total];
    int off = 0;
    for (int i = 0; i < messages.size(); i++) {
      byte[] f = messages.get(i).framed(TEXT);
      System.arraycopy(f, 0, out, off, f.length);
      off += f.length;
    }
    return ByteBuffer.wrap(out);
  }

  /**
   * Where the frame that holds index {@code at} of {@code b} ends, for a buffer of whole server
   * frames from index 0 (so that a buffer the socket has partly taken can be cut after the frame it
   * is in). The buffer's limit if it does not start with frames (an HTTP response) or {@code at} is
   * past them.
   */
  static int endOfFrame(ByteBuffer b, int at) {
    int start = 0;
    int limit = b.limit();
    while (start + 2 <= limit) {
      int opcode = b.get(start) & 0xFF;
      if ((opcode & 0x70) != 0 || (opcode & 0x0F) > 0x0A) {
        return limit; // not a frame we made
      }
      int length = b.get(start + 1) & 0x7F;
      int header = headerLength(length == 127 ? 0x10000 : length == 126 ? 126 : length);
      if (start + header > limit) {
        return limit;
      }
      long payload =
          length < 126
              ? length
              : length == 126 ? b.getShort(start + 2) & 0xFFFF : b.getLong(start + 2);
      long end = start + header + payload;
      if (payload < 0 || end > limit) {
        return limit;
      }
      if (end > at) {
        return (int) end;
      }
      start = (int) end;
    }
    return limit;
  }

  /** {@code s} cut to at most {@code maxBytes} of UTF-8, on a character boundary. */
  static String truncateUtf8(String s, int maxBytes) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length <= maxBytes) {
      return s;
    }
    int end = maxBytes;
    while (end > 0 && (b[end] & 0xC0) == 0x80) {
      end--;
    }
    return new String(b, 0, end, StandardCharsets.UTF_8);
  }
}
