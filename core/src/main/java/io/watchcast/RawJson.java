package io.watchcast;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Data that is already JSON: published as-is, without passing through Jackson. The caller vouches
 * that the bytes are one valid JSON value in UTF-8; they are not checked.
 *
 * <p>Thread-safe as long as nobody changes the array after handing it over: the hub reads it on the
 * publishing thread and may keep it as a topic's snapshot.
 */
public record RawJson(byte[] utf8) {

  public RawJson {
    Objects.requireNonNull(utf8, "utf8");
  }

  public static RawJson of(String json) {
    return new RawJson(json.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return new String(utf8, StandardCharsets.UTF_8);
  }
}
