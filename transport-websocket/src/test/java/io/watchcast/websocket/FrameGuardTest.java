package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.java_websocket.exceptions.InvalidDataException;
import org.junit.jupiter.api.Test;

final class FrameGuardTest {
  private static final int LIMIT = 1000;

  private static byte[] stream(byte[]... frames) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] f : frames) {
      out.writeBytes(f);
    }
    return out.toByteArray();
  }

  /** Feeds {@code bytes} in pieces of {@code piece} bytes, as reads would deliver them. */
  private static void feed(FrameGuard guard, byte[] bytes, int piece) throws InvalidDataException {
    for (int i = 0; i < bytes.length; i += piece) {
      guard.check(ByteBuffer.wrap(bytes, i, Math.min(piece, bytes.length - i)));
    }
  }

  private static int closeCode(FrameGuard guard, byte[] bytes, int piece) {
    try {
      feed(guard, bytes, piece);
    } catch (InvalidDataException e) {
      return e.getCloseCode();
    }
    return -1;
  }

  @Test
  void validFrames_passInPiecesOfAnySize() throws InvalidDataException {
    byte[] valid =
        stream(
            RawClient.frame(1, "{\"action\":\"ping\"}".getBytes(StandardCharsets.UTF_8), true),
            RawClient.frame(1, new byte[600], false),
            RawClient.frame(9, new byte[4], true), // a ping between fragments
            RawClient.frame(0, new byte[400], true), // 1000 bytes: at the limit
            RawClient.frame(1, new byte[300], true),
            RawClient.frame(8, new byte[] {0x03, (byte) 0xE8, 'o', 'k'}, true));
    for (int piece : new int[] {1, 2, 3, 7, valid.length}) {
      feed(new FrameGuard(LIMIT), valid, piece);
    }
  }

  @Test
  void unmaskedFrame_is1002_atItsSecondByte() {
    byte[] unmasked = RawClient.frame(1, new byte[10], true, false);
    assertThat(closeCode(new FrameGuard(LIMIT), new byte[] {unmasked[0], unmasked[1]}, 1))
        .isEqualTo(1002);
  }

  @Test
  void fragmentedMessage_is1009_atTheHeaderThatPassesTheLimit() {
    byte[] first = RawClient.frame(1, new byte[600], false);
    byte[] next = RawClient.frame(0, new byte[401], false);
    byte[] headerOnly = new byte[first.length + 8]; // the next frame's 2 + 2 + 4 header bytes
    System.arraycopy(first, 0, headerOnly, 0, first.length);
    System.arraycopy(next, 0, headerOnly, first.length, 8);
    assertThat(closeCode(new FrameGuard(LIMIT), headerOnly, 3)).isEqualTo(1009);
  }

  @Test
  void closeReason_notUtf8_is1007_utf8_passes() throws InvalidDataException {
    byte[] bad = RawClient.frame(8, new byte[] {0x03, (byte) 0xE8, (byte) 0xC3, 0x28}, true);
    assertThat(closeCode(new FrameGuard(LIMIT), bad, 1)).isEqualTo(1007);
    byte[] good =
        RawClient.frame(8, new byte[] {0x03, (byte) 0xE8, (byte) 0xC3, (byte) 0xA9}, true);
    feed(new FrameGuard(LIMIT), good, 1); // 1000 "é"
  }
}
