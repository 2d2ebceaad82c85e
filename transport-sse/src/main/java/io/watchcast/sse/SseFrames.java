package io.watchcast.sse;

import io.watchcast.EncodedMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The Server-Sent Events wire form of Watchcast messages. Independent of any HTTP server: a Servlet
 * or other adapter writes the same bytes. Stateless and thread-safe.
 *
 * <p>A message becomes one event:
 *
 * <pre>
 * id: stats~k3x9ab~42          (only for topic messages, see {@link ResumeVector})
 * event: update                (the envelope type)
 * data: {"type":"update",...}  (the JSON envelope, exactly as the WebSocket transport sends it)
 * (blank line)
 * </pre>
 *
 * The framing is built once per message by {@link #FRAMING} and shared by every stream.
 */
final class SseFrames {

  /** The SSE wire form of a message, built once per message and shared by every stream. */
  static final EncodedMessage.Framing<SseEvent> FRAMING =
      EncodedMessage.Framing.of(SseFrames::frame);

  /** The heartbeat: a comment line, ignored by clients, that keeps proxies and finds dead peers. */
  static final byte[] PING = ascii(": ping\n\n");

  private static final byte[] ID = ascii("id: ");
  private static final byte[] EVENT = ascii("event: ");
  private static final byte[] DATA = ascii("data: ");

  private SseFrames() {}

  /** The first bytes of a stream: the reconnection delay hint, and a comment that opens it. */
  static byte[] preamble(Duration retry) {
    return ascii("retry: " + retry.toMillis() + "\n: watchcast\n\n");
  }

  /** A comment line, for the reason a stream ends. Line breaks in {@code text} are dropped. */
  static byte[] comment(String text) {
    return (": " + text.replace('\n', ' ').replace('\r', ' ') + "\n\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** The {@code id:} line for {@code value}, which must not contain a line break. */
  static byte[] idLine(String value) {
    byte[] v = value.getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[ID.length + v.length + 1];
    System.arraycopy(ID, 0, out, 0, ID.length);
    System.arraycopy(v, 0, out, ID.length, v.length);
    out[out.length - 1] = '\n';
    return out;
  }

  static SseEvent frame(EncodedMessage m) {
    String id = m.epoch() == null ? null : ResumeVector.entry(m.topic(), m.epoch(), m.id());
    byte[] type = m.type().getBytes(StandardCharsets.US_ASCII);
    byte[] json = new byte[m.size()];
    m.copyJsonTo(json, 0);
    int breaks = countLineBreaks(json);
    int idLength = id == null ? 0 : ID.length + id.length() + 1;
    int size =
        idLength + EVENT.length + type.length + 1 + DATA.length * (breaks + 1) + json.length + 2;
    byte[] out = new byte[size];
    int p = 0;
    if (id != null) {
      System.arraycopy(ID, 0, out, p, ID.length);
      p += ID.length;
      for (int i = 0; i < id.length(); i++) {
        out[p++] = (byte) id.charAt(i);
      }
      out[p++] = '\n';
    }
    int body = p;
    System.arraycopy(EVENT, 0, out, p, EVENT.length);
    p += EVENT.length;
    System.arraycopy(type, 0, out, p, type.length);
    p += type.length;
    out[p++] = '\n';
    System.arraycopy(DATA, 0, out, p, DATA.length);
    p += DATA.length;
    if (breaks == 0) {
      System.arraycopy(json, 0, out, p, json.length);
      p += json.length;
    } else {
      // JSON may hold whitespace line breaks between tokens (RawJson, a pretty-printing mapper):
      // each line becomes a data: line, and the client joins them back with '\n'.
      for (int i = 0; i < json.length; i++) {
        byte b = json[i];
        if (b == '\r' || b == '\n') {
          if (b == '\r' && i + 1 < json.length && json[i + 1] == '\n') {
            i++;
          }
          out[p++] = '\n';
          System.arraycopy(DATA, 0, out, p, DATA.length);
          p += DATA.length;
        } else {
          out[p++] = b;
        }
      }
    }
    out[p++] = '\n';
    out[p++] = '\n';
    byte[] exact = p == out.length ? out : java.util.Arrays.copyOf(out, p);
    return new SseEvent(exact, body, id);
  }

  /** Line breaks as SSE counts them: CRLF, CR or LF, each once. */
  private static int countLineBreaks(byte[] json) {
    int n = 0;
    for (int i = 0; i < json.length; i++) {
      byte b = json[i];
      if (b == '\n') {
        n++;
      } else if (b == '\r') {
        n++;
        if (i + 1 < json.length && json[i + 1] == '\n') {
          i++;
        }
      }
    }
    return n;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * One message as an SSE event. Immutable and shared between streams.
   *
   * <p>{@code bytes} is the whole event; {@code bytes[bodyOffset..]} is the event without its
   * {@code id:} line, for streams that write their own id (several topics in one stream). {@code
   * id} is the message's own one-topic id, or null for a control message.
   */
  static final class SseEvent {
    final byte[] bytes;
    final int bodyOffset;
    final String id;

    SseEvent(byte[] bytes, int bodyOffset, String id) {
      this.bytes = bytes;
      this.bodyOffset = bodyOffset;
      this.id = id;
    }

    int bodyLength() {
      return bytes.length - bodyOffset;
    }
  }
}
