package io.watchcast.sse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watchcast.EncodedMessage;
import io.watchcast.TopicInfo;
import java.util.List;
import java.util.Locale;

/**
 * The REST side, independent of any HTTP server: snapshot ETags and conditional requests, and the
 * JSON of the topic list. Stateless and thread-safe.
 */
final class Snapshots {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Snapshots() {}

  /**
   * The strong ETag of a snapshot: {@code "epoch-id"}. A topic's snapshot at one (epoch, id) never
   * changes, and a new message or a new epoch always changes the pair.
   */
  static String etag(EncodedMessage snapshot) {
    return "\"" + snapshot.epoch() + "-" + snapshot.id() + "\"";
  }

  /**
   * Whether an {@code If-None-Match} header value matches {@code etag} (RFC 9110 13.1.2: weak
   * comparison, a list of tags, or {@code *}).
   */
  static boolean notModified(String ifNoneMatch, String etag) {
    if (ifNoneMatch == null || ifNoneMatch.isBlank()) {
      return false;
    }
    String opaque = etag.startsWith("W/") ? etag.substring(2) : etag;
    for (String candidate : ifNoneMatch.split(",")) {
      String c = candidate.trim();
      if (c.equals("*")) {
        return true;
      }
      if (c.startsWith("W/")) {
        c = c.substring(2);
      }
      if (c.equals(opaque)) {
        return true;
      }
    }
    return false;
  }

  /** {@code {"topics":[{"topic":..,"id":..,"epoch":..,"subscribers":..,...}]}} */
  static byte[] topicList(List<TopicInfo> topics) {
    ObjectNode root = MAPPER.createObjectNode();
    ArrayNode list = root.putArray("topics");
    for (TopicInfo t : topics) {
      ObjectNode n = list.addObject();
      n.put("topic", t.name());
      n.put("id", t.id());
      n.put("epoch", t.epoch());
      n.put("subscribers", t.subscribers());
      n.put("throttle", t.throttle().name().toLowerCase(Locale.ROOT));
      n.put("hasSnapshot", t.hasSnapshot());
    }
    return json(root);
  }

  /** {@code {"code":..,"message":..}}: the body of every error response. */
  static byte[] error(String code, String message) {
    ObjectNode n = MAPPER.createObjectNode();
    n.put("code", code);
    n.put("message", message);
    return json(n);
  }

  static byte[] json(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
