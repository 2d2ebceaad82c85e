package io.watchcast.sse;

import io.watchcast.EncodedMessage;
import io.watchcast.Envelope;
import io.watchcast.Topics;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The position of one SSE stream in each of its topics, and its text form: the SSE event id.
 *
 * <p>A browser remembers only the id of the last event it received and sends it back as {@code
 * Last-Event-ID} when it reconnects. One stream carries several topics, each with its own sequence,
 * so the id of every event carries the stream's position in <em>every</em> topic it has seen:
 *
 * <pre>
 *   id      = entry *( "," entry )
 *   entry   = topic "~" epoch "~" seq
 *   topic   = 1*128( ALPHA / DIGIT / "." / "_" / ":" / "-" )   (a topic name)
 *   epoch   = 1*16( lowercase ALPHA / DIGIT )                  (the topic's stream incarnation)
 *   seq     = 1*19DIGIT                                         (the last id delivered, 0 = none)
 * </pre>
 *
 * For example {@code stats~k3x9ab~42,logs~1zzq0c~17}. A stream of one topic has ids of one entry,
 * the same bytes for every stream, so those are framed once per message. None of the characters
 * needs escaping in a header or a URL query.
 *
 * <p>Not thread-safe: one stream's writer owns it.
 */
final class ResumeVector {

  /** A topic's position: its epoch and the last id the client holds. */
  record Position(String epoch, long id) {}

  static final int MAX_EPOCH_LENGTH = 16;

  private final int maxEntries;

  /** A topic's position, updated in place on the hot path. */
  private static final class Slot {
    String epoch;
    long id;

    Slot(String epoch, long id) {
      this.epoch = epoch;
      this.id = id;
    }
  }

  private final LinkedHashMap<String, Slot> positions = new LinkedHashMap<>();
  private String formatted;

  // The last topic advanced and its slot: a one-topic stream needs no hash lookup per message.
  private String cachedTopic;
  private Slot cachedSlot;

  ResumeVector(int maxEntries) {
    this.maxEntries = maxEntries;
  }

  /** One entry's text, which is also the id of a one-topic stream's events. */
  static String entry(String topic, String epoch, long id) {
    return topic + '~' + epoch + '~' + id;
  }

  /**
   * Parses an event id. Returns an empty vector for null or blank input.
   *
   * @throws IllegalArgumentException saying what is wrong, for a client error response
   */
  static ResumeVector parse(String text, int maxEntries, int maxLength) {
    ResumeVector v = new ResumeVector(maxEntries);
    if (text == null || text.isBlank()) {
      return v;
    }
    if (text.length() > maxLength) {
      throw new IllegalArgumentException(
          "Last-Event-ID is " + text.length() + " characters; at most " + maxLength);
    }
    for (String entry : text.split(",", -1)) {
      int a = entry.indexOf('~');
      int b = a < 0 ? -1 : entry.indexOf('~', a + 1);
      if (a <= 0 || b < 0 || entry.indexOf('~', b + 1) >= 0) {
        throw new IllegalArgumentException(
            "Last-Event-ID entry '" + shorten(entry) + "' is not topic~epoch~id");
      }
      String topic = entry.substring(0, a);
      String epoch = entry.substring(a + 1, b);
      String seq = entry.substring(b + 1);
      if (!Topics.isValid(topic)) {
        throw new IllegalArgumentException(
            "Last-Event-ID names an invalid topic '" + shorten(topic) + "'");
      }
      if (!isEpoch(epoch)) {
        throw new IllegalArgumentException(
            "Last-Event-ID has an invalid epoch '" + shorten(epoch) + "' for " + topic);
      }
      long id = parseSeq(seq);
      if (id < 0) {
        throw new IllegalArgumentException(
            "Last-Event-ID has an invalid id '" + shorten(seq) + "' for " + topic);
      }
      if (v.positions.containsKey(topic)) {
        throw new IllegalArgumentException("Last-Event-ID names " + topic + " twice");
      }
      if (v.positions.size() >= maxEntries) {
        throw new IllegalArgumentException("Last-Event-ID has more than " + maxEntries + " topics");
      }
      v.positions.put(topic, new Slot(epoch, id));
    }
    return v;
  }

  private static boolean isEpoch(String s) {
    if (s.isEmpty() || s.length() > MAX_EPOCH_LENGTH) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) {
        return false;
      }
    }
    return true;
  }

  private static long parseSeq(String s) {
    if (s.isEmpty() || s.length() > 19) {
      return -1;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String shorten(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }

  Position get(String topic) {
    Slot s = positions.get(topic);
    return s == null ? null : new Position(s.epoch, s.id);
  }

  int size() {
    return positions.size();
  }

  List<String> topics() {
    return new ArrayList<>(positions.keySet());
  }

  /** Whether the vector holds exactly {@code topic} and nothing else. */
  boolean isOnly(String topic) {
    return positions.size() == 1
        && (topic == cachedTopic ? cachedSlot != null : positions.containsKey(topic));
  }

  /** Keeps only the topics in {@code keep} (those the stream subscribes to). */
  void retainAll(java.util.Collection<String> keep, boolean wildcard) {
    if (wildcard) {
      return;
    }
    for (Iterator<Map.Entry<String, Slot>> it = positions.entrySet().iterator(); it.hasNext(); ) {
      if (!keep.contains(it.next().getKey())) {
        it.remove();
        formatted = null;
      }
    }
    forgetCache();
  }

  /**
   * Advances the vector past a message about to be written. Returns whether it changed.
   *
   * <p>A topic message sets its topic's position. A {@code subscribed} or {@code reset} whose data
   * says the topic has no message yet (id 0) records the epoch, so that messages published while
   * the client is away are replayed; a {@code reset} past id 0 forgets the topic, so that a cut
   * before the snapshot that follows it brings the snapshot again.
   */
  boolean advance(EncodedMessage m) {
    String topic = m.topic();
    if (m.epoch() != null) {
      Slot s = topic == cachedTopic ? cachedSlot : positions.get(topic);
      if (s != null) {
        cachedTopic = topic;
        cachedSlot = s;
        if (s.id == m.id() && s.epoch.equals(m.epoch())) {
          return false;
        }
        s.epoch = m.epoch();
        s.id = m.id();
        formatted = null;
        return true;
      }
      return put(topic, m.epoch(), m.id());
    }
    String type = m.type();
    boolean subscribed = type.equals("subscribed");
    if (!subscribed && !type.equals("reset")) {
      return false;
    }
    if (!Topics.isValid(topic)) {
      return false; // "*" or system
    }
    Envelope e = Envelope.parse(m.jsonString());
    if (e.data() == null || !e.data().path("epoch").isTextual()) {
      return false;
    }
    String epoch = e.data().get("epoch").asText();
    long id = e.data().path("id").asLong();
    if (subscribed) {
      if (id == 0 && !positions.containsKey(topic)) {
        return put(topic, epoch, 0);
      }
      return false;
    }
    if (id == 0) {
      return put(topic, epoch, 0);
    }
    forgetCache();
    if (positions.remove(topic) != null) {
      formatted = null;
      return true;
    }
    return false;
  }

  private boolean put(String topic, String epoch, long id) {
    Slot s = positions.get(topic);
    if (s == null) {
      if (positions.size() >= maxEntries) {
        return false; // beyond the cap this topic resumes with a snapshot
      }
      s = new Slot(epoch, id);
      positions.put(topic, s);
    } else {
      s.epoch = epoch;
      s.id = id;
    }
    cachedTopic = topic;
    cachedSlot = s;
    formatted = null;
    return true;
  }

  private void forgetCache() {
    cachedTopic = null;
    cachedSlot = null;
  }

  /** The id text; empty when no topic has a position. */
  String format() {
    String f = formatted;
    if (f == null) {
      StringBuilder sb = new StringBuilder();
      for (Map.Entry<String, Slot> e : positions.entrySet()) {
        if (sb.length() > 0) {
          sb.append(',');
        }
        sb.append(e.getKey())
            .append('~')
            .append(e.getValue().epoch)
            .append('~')
            .append(e.getValue().id);
      }
      formatted = f = sb.toString();
    }
    return f;
  }

  @Override
  public String toString() {
    return format();
  }
}
