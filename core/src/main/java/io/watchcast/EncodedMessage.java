package io.watchcast;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * One server message, serialized once to UTF-8 JSON and shared by every connection and transport
 * that delivers it. Immutable and thread-safe.
 *
 * <p>Transports frame it once too: {@link #framed(Framing)} builds a transport's wire form (a
 * WebSocket frame, an SSE event) on first use and caches it on the message, so a broadcast to any
 * number of connections builds each framing once.
 */
public final class EncodedMessage {

  private final String type;
  private final String topic;
  private final long id;
  private final String epoch;
  private final long timestamp;
  private final byte[] json;
  private final boolean conflatable;
  private volatile Object[] framings;

  EncodedMessage(
      String type,
      String topic,
      long id,
      String epoch,
      long timestamp,
      byte[] json,
      boolean conflatable) {
    this.type = type;
    this.topic = topic;
    this.id = id;
    this.epoch = epoch;
    this.timestamp = timestamp;
    this.json = json;
    this.conflatable = conflatable;
  }

  /** The envelope's {@code type}: {@code update}, {@code snapshot}, {@code error}, ... */
  public String type() {
    return type;
  }

  /** The envelope's {@code topic}; {@code system} for control messages. */
  public String topic() {
    return topic;
  }

  /** The per-topic sequence number, or 0 for a control message that has none. */
  public long id() {
    return id;
  }

  /** The topic's stream incarnation, or null for a control message. */
  public String epoch() {
    return epoch;
  }

  /** Epoch milliseconds when the message was published. */
  public long timestamp() {
    return timestamp;
  }

  /** Whether a newer message of the same topic may replace this one while it is undelivered. */
  public boolean conflatable() {
    return conflatable;
  }

  /** The number of bytes of the JSON form. */
  public int size() {
    return json.length;
  }

  /** A read-only view of the UTF-8 JSON. */
  public ByteBuffer json() {
    return ByteBuffer.wrap(json).asReadOnlyBuffer();
  }

  /** The JSON as a string (a copy; for tests and logs, not the hot path). */
  public String jsonString() {
    return new String(json, StandardCharsets.UTF_8);
  }

  /**
   * Copies the JSON bytes into {@code target} at {@code offset}. For framings that put a header
   * before the payload.
   */
  public void copyJsonTo(byte[] target, int offset) {
    System.arraycopy(json, 0, target, offset, json.length);
  }

  /** This message in {@code framing}'s wire form, built at most once per message and framing. */
  @SuppressWarnings("unchecked")
  public <T> T framed(Framing<T> framing) {
    int slot = framing.slot;
    Object[] current = framings;
    if (current != null && current[slot] != null) {
      return (T) current[slot];
    }
    T built = Objects.requireNonNull(framing.build.apply(this), "framing returned null");
    // Copy-on-write so that readers never see a half-filled array; a lost race builds twice.
    Object[] next = current == null ? new Object[Framing.MAX] : current.clone();
    next[slot] = built;
    framings = next;
    return built;
  }

  @Override
  public String toString() {
    return jsonString();
  }

  /**
   * A transport's wire form of a message. Create one per transport, as a constant: each takes one
   * of {@value #MAX} slots for the life of the JVM.
   */
  public static final class Framing<T> {
    static final int MAX = 8;
    private static final AtomicInteger SLOTS = new AtomicInteger();

    final int slot;
    final Function<EncodedMessage, T> build;

    private Framing(Function<EncodedMessage, T> build) {
      this.build = Objects.requireNonNull(build, "build");
      this.slot = SLOTS.getAndIncrement();
      if (slot >= MAX) {
        throw new IllegalStateException(
            "at most " + MAX + " framings may exist; create each one once, as a constant");
      }
    }

    /** A framing built by {@code build}, which must be a pure function of the message. */
    public static <T> Framing<T> of(Function<EncodedMessage, T> build) {
      return new Framing<>(build);
    }
  }
}
