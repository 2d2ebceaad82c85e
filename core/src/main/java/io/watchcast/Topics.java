package io.watchcast;

import java.util.Objects;

/**
 * The rules for topic names, checked at every entry point (publish, declare, subscribe).
 *
 * <p>A topic name is 1 to {@value #MAX_LENGTH} characters from {@code A-Z a-z 0-9 . _ : -}. The
 * name {@value #WILDCARD} subscribes to every topic; the name {@value #SYSTEM} is reserved for
 * control messages. Names are case-sensitive. This class is stateless and thread-safe.
 */
public final class Topics {

  /** The longest topic name accepted. */
  public static final int MAX_LENGTH = 128;

  /** Subscribes to every topic, present and future. Not a valid name to publish on. */
  public static final String WILDCARD = "*";

  /** The topic of control messages ({@code pong}, errors about no topic). Reserved. */
  public static final String SYSTEM = "system";

  private Topics() {}

  /** Whether {@code name} is a valid topic name to publish on (not the wildcard, not reserved). */
  public static boolean isValid(String name) {
    return problem(name) == null;
  }

  /**
   * Returns {@code name} when it is a valid topic name.
   *
   * @throws IllegalArgumentException naming what is wrong with it
   */
  public static String requireValid(String name) {
    Objects.requireNonNull(name, "topic");
    String problem = problem(name);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return name;
  }

  /** Why {@code name} is not a valid topic name, or null if it is. */
  static String problem(String name) {
    if (name == null) {
      return "topic is missing";
    }
    if (name.isEmpty()) {
      return "topic must not be empty";
    }
    if (name.length() > MAX_LENGTH) {
      return "topic is " + name.length() + " characters; at most " + MAX_LENGTH + " are allowed";
    }
    if (name.equals(SYSTEM)) {
      return "topic 'system' is reserved for control messages";
    }
    if (name.equals(WILDCARD)) {
      return "'*' subscribes to all topics; it cannot be published on";
    }
    for (int i = 0; i < name.length(); i++) {
      if (!isNameChar(name.charAt(i))) {
        return "topic may contain only A-Z a-z 0-9 . _ : - (found "
            + describe(name.charAt(i))
            + " at index "
            + i
            + ")";
      }
    }
    return null;
  }

  static boolean isNameChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '.'
        || c == '_'
        || c == ':'
        || c == '-';
  }

  private static String describe(char c) {
    return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
  }
}
