package io.watchcast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A server message as a client reads it: {@code {type, topic, data, timestamp, id, epoch}}. For
 * Java clients, tests and load generators; the server writes envelopes without building this
 * record. Immutable and thread-safe.
 *
 * @param id the per-topic sequence number, or 0 for a control message
 * @param epoch the topic's stream incarnation, or null for a control message
 */
public record Envelope(
    String type, String topic, JsonNode data, long timestamp, long id, String epoch) {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /**
   * Parses one server message.
   *
   * @throws IllegalArgumentException if it is not an envelope
   */
  public static Envelope parse(String json) {
    JsonNode node;
    try {
      node = MAPPER.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
    }
    if (node == null || !node.isObject() || !node.path("type").isTextual()) {
      throw new IllegalArgumentException("not an envelope: " + json);
    }
    return new Envelope(
        node.path("type").asText(),
        node.path("topic").asText(null),
        node.get("data"),
        node.path("timestamp").asLong(),
        node.path("id").asLong(0),
        node.hasNonNull("epoch") ? node.get("epoch").asText() : null);
  }

  /** The data converted to {@code type} with a default ObjectMapper. */
  public <T> T dataAs(Class<T> type) {
    try {
      return MAPPER.treeToValue(data, type);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
