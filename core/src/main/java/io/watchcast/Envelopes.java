package io.watchcast;

import java.nio.charset.StandardCharsets;

/** Writes the server envelope as bytes, with one allocation of the exact size. */
final class Envelopes {
  private static final byte[] TYPE = bytes("{\"type\":\"");
  private static final byte[] TOPIC = bytes("\",\"topic\":\"");
  private static final byte[] DATA = bytes("\",\"data\":");
  private static final byte[] TIMESTAMP = bytes(",\"timestamp\":");
  private static final byte[] ID = bytes(",\"id\":");
  private static final byte[] EPOCH = bytes(",\"epoch\":\"");
  private static final byte[] NULL = bytes("null");

  private Envelopes() {}

  /**
   * Encodes a topic message (with id and epoch) or, when {@code epoch} is null, a control message
   * (without them). {@code type}, {@code topic} and {@code epoch} must be plain ASCII names that
   * need no escaping; every caller passes validated names.
   */
  static EncodedMessage encode(
      String type,
      String topic,
      byte[] data,
      long timestamp,
      long id,
      String epoch,
      boolean conflatable) {
    byte[] payload = data == null ? NULL : data;
    String ts = Long.toString(timestamp);
    String idText = epoch == null ? null : Long.toString(id);
    int size =
        TYPE.length
            + type.length()
            + TOPIC.length
            + topic.length()
            + DATA.length
            + payload.length
            + TIMESTAMP.length
            + ts.length()
            + 1;
    if (epoch != null) {
      size += ID.length + idText.length() + EPOCH.length + epoch.length() + 1;
    }
    byte[] out = new byte[size];
    int p = 0;
    p = put(out, p, TYPE);
    p = putAscii(out, p, type);
    p = put(out, p, TOPIC);
    p = putAscii(out, p, topic);
    p = put(out, p, DATA);
    p = put(out, p, payload);
    p = put(out, p, TIMESTAMP);
    p = putAscii(out, p, ts);
    if (epoch != null) {
      p = put(out, p, ID);
      p = putAscii(out, p, idText);
      p = put(out, p, EPOCH);
      p = putAscii(out, p, epoch);
      out[p++] = '"';
    }
    out[p++] = '}';
    assert p == size;
    return new EncodedMessage(type, topic, id, epoch, timestamp, out, conflatable);
  }

  private static int put(byte[] out, int p, byte[] src) {
    System.arraycopy(src, 0, out, p, src.length);
    return p + src.length;
  }

  private static int putAscii(byte[] out, int p, String s) {
    for (int i = 0; i < s.length(); i++) {
      out[p++] = (byte) s.charAt(i);
    }
    return p;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
