package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.RawJson;
import io.watchcast.testing.FakeConnection;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

final class FramesTest {

  /** A message whose JSON is exactly {@code jsonSize} bytes. */
  private static EncodedMessage messageOfSize(ConnectionManager unused, int jsonSize) {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      FakeConnection c = new FakeConnection();
      c.attach(hub.register(c));
      c.session().receive("{\"action\":\"subscribe\",\"topic\":\"t\"}");
      c.next();
      hub.publish("t", RawJson.of("\"\""));
      int overhead = c.takeAllRaw().get(0).size() - 2; // ids 1 and 2 have the same length
      hub.publish("t", RawJson.of("\"" + "a".repeat(jsonSize - overhead - 2) + "\""));
      EncodedMessage m = c.takeAllRaw().get(0);
      assertThat(m.size()).isEqualTo(jsonSize);
      return m;
    }
  }

  @Test
  void textFrame_headerLengthsAtTheirBoundaries() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      for (int size : new int[] {125, 126, 65535, 65536, 70000}) {
        EncodedMessage m = messageOfSize(hub, size);
        byte[] f = m.framed(Frames.TEXT);
        assertThat(f[0] & 0xFF).isEqualTo(0x81);
        int header = size < 126 ? 2 : size <= 65535 ? 4 : 10;
        assertThat(f).hasSize(header + size);
        ByteBuffer b = ByteBuffer.wrap(f);
        b.get();
        int len7 = b.get() & 0x7F;
        long length = len7 < 126 ? len7 : len7 == 126 ? (b.getShort() & 0xFFFF) : b.getLong();
        assertThat(length).isEqualTo(size);
        assertThat(ByteBuffer.wrap(f, header, size)).isEqualTo(m.json());
      }
    }
  }

  @Test
  void textFrame_isBuiltOncePerMessage() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      EncodedMessage m = messageOfSize(hub, 300);
      assertThat(m.framed(Frames.TEXT)).isSameAs(m.framed(Frames.TEXT));
    }
  }

  @Test
  void concat_putsFramesBackToBack() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      EncodedMessage a = messageOfSize(hub, 100);
      EncodedMessage b = messageOfSize(hub, 200);
      ByteBuffer both = Frames.concat(List.of(a, b));
      assertThat(both.remaining()).isEqualTo(102 + 204);
      assertThat(Frames.concat(List.of(a)).array()).isSameAs(a.framed(Frames.TEXT));
    }
  }

  @Test
  void endOfFrame_isTheEndOfTheFrameThatHoldsTheIndex() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      // Headers of 2, 4 and 10 bytes.
      ByteBuffer b =
          Frames.concat(
              List.of(messageOfSize(hub, 100), messageOfSize(hub, 200), messageOfSize(hub, 70000)));
      int first = 102;
      int second = first + 204;
      int third = second + 70010;
      assertThat(b.limit()).isEqualTo(third);
      assertThat(Frames.endOfFrame(b, 1)).isEqualTo(first);
      assertThat(Frames.endOfFrame(b, first - 1)).isEqualTo(first);
      assertThat(Frames.endOfFrame(b, first)).isEqualTo(second);
      assertThat(Frames.endOfFrame(b, second + 5)).isEqualTo(third);
      assertThat(Frames.endOfFrame(b, third)).isEqualTo(third);
    }
  }

  @Test
  void endOfFrame_ofWhatIsNotFrames_isTheLimit() {
    ByteBuffer http = ByteBuffer.wrap("HTTP/1.1 101 Switching Protocols\r\n\r\n".getBytes());
    assertThat(Frames.endOfFrame(http, 3)).isEqualTo(http.limit());
    ByteBuffer cut = ByteBuffer.wrap(new byte[] {(byte) 0x81, 126, 1});
    assertThat(Frames.endOfFrame(cut, 1)).isEqualTo(3);
  }

  @Test
  void truncateUtf8_cutsOnACharacterBoundary() {
    assertThat(Frames.truncateUtf8("abc", 123)).isEqualTo("abc");
    assertThat(Frames.truncateUtf8("ééé", 5)).isEqualTo("éé");
  }
}
