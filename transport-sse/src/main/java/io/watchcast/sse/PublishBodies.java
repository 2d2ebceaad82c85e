package io.watchcast.sse;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.watchcast.RawJson;

/** Validation of {@code POST /api/topics/{topic}} bodies. Jetty-free, stateless, thread-safe. */
final class PublishBodies {
  private static final JsonFactory JSON =
      JsonFactory.builder()
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(200).build())
          .build();

  private PublishBodies() {}

  /**
   * The body as data to publish: exactly one JSON value, UTF-8, nothing after it.
   *
   * @throws HttpError 400 {@code invalid_json} saying what is wrong
   */
  static RawJson validate(byte[] body) throws HttpError {
    if (body.length == 0) {
      throw HttpError.badRequest("invalid_json", "the body is empty; send one JSON value");
    }
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() == null) {
        throw HttpError.badRequest("invalid_json", "the body holds no JSON value");
      }
      p.skipChildren();
      JsonToken after = p.nextToken();
      if (after != null) {
        throw HttpError.badRequest(
            "invalid_json", "the body holds more than one JSON value (at " + after + ")");
      }
    } catch (HttpError e) {
      throw e;
    } catch (Exception e) {
      String msg = e.getMessage() == null ? e.toString() : e.getMessage();
      int nl = msg.indexOf('\n');
      throw HttpError.badRequest(
          "invalid_json", "the body is not valid JSON: " + (nl < 0 ? msg : msg.substring(0, nl)));
    }
    return new RawJson(body);
  }
}
