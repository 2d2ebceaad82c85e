package io.watchcast.sse;

import io.watchcast.EncodedMessage;
import java.util.List;

/**
 * Turns the messages drained from one stream's session into the bytes of one write, keeping the
 * stream's {@link ResumeVector} so that the id of every event resumes every topic of the stream.
 * Independent of any HTTP server.
 *
 * <p>A topic message's shared {@link SseFrames.SseEvent} is copied as-is when the stream's vector
 * is that one topic (a one-topic stream: no per-stream work); otherwise the stream writes its own
 * {@code id:} line before the shared body. Control messages carry an id line only when they move
 * the vector. Not thread-safe: one stream's writer owns it.
 */
final class StreamEncoder {
  private final ResumeVector vector;

  StreamEncoder(ResumeVector vector) {
    this.vector = vector;
  }

  ResumeVector vector() {
    return vector;
  }

  /**
   * The bytes of {@code prefix} (may be null) followed by every message of {@code batch} as SSE
   * events, for one write. A lone message of a one-topic stream is its shared event bytes, wrapped,
   * not copied.
   */
  java.nio.ByteBuffer encodeBuffer(byte[] prefix, List<EncodedMessage> batch) {
    if (prefix == null && batch.size() == 1) {
      EncodedMessage m = batch.get(0);
      if (m.epoch() != null) {
        SseFrames.SseEvent e = m.framed(SseFrames.FRAMING);
        vector.advance(m);
        if (vector.isOnly(m.topic())) {
          return java.nio.ByteBuffer.wrap(e.bytes).asReadOnlyBuffer();
        }
        byte[] own = SseFrames.idLine(vector.format());
        byte[] out = new byte[own.length + e.bodyLength()];
        System.arraycopy(own, 0, out, 0, own.length);
        System.arraycopy(e.bytes, e.bodyOffset, out, own.length, e.bodyLength());
        return java.nio.ByteBuffer.wrap(out);
      }
    }
    return java.nio.ByteBuffer.wrap(encode(prefix, batch));
  }

  /** The bytes of {@code prefix} followed by every message of {@code batch} as SSE events. */
  byte[] encode(byte[] prefix, List<EncodedMessage> batch) {
    // Two passes: the vector moves as we go, so remember each event's id line from pass one.
    int n = batch.size();
    SseFrames.SseEvent[] events = new SseFrames.SseEvent[n];
    byte[][] ownIds = new byte[n][];
    int size = prefix == null ? 0 : prefix.length;
    for (int i = 0; i < n; i++) {
      EncodedMessage m = batch.get(i);
      SseFrames.SseEvent e = m.framed(SseFrames.FRAMING);
      events[i] = e;
      boolean changed = vector.advance(m);
      if (e.id != null) {
        if (vector.isOnly(m.topic())) {
          size += e.bytes.length;
          continue;
        }
        ownIds[i] = SseFrames.idLine(vector.format());
      } else if (changed) {
        ownIds[i] = SseFrames.idLine(vector.format());
      }
      size += (ownIds[i] == null ? 0 : ownIds[i].length) + e.bodyLength();
    }
    byte[] out = new byte[size];
    int p = 0;
    if (prefix != null) {
      System.arraycopy(prefix, 0, out, 0, prefix.length);
      p = prefix.length;
    }
    for (int i = 0; i < n; i++) {
      SseFrames.SseEvent e = events[i];
      byte[] own = ownIds[i];
      if (own == null && e.id != null) {
        System.arraycopy(e.bytes, 0, out, p, e.bytes.length);
        p += e.bytes.length;
      } else {
        if (own != null) {
          System.arraycopy(own, 0, out, p, own.length);
          p += own.length;
        }
        System.arraycopy(e.bytes, e.bodyOffset, out, p, e.bodyLength());
        p += e.bodyLength();
      }
    }
    return out;
  }
}
