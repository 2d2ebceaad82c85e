package io.watchcast;

/**
 * The stable, machine-readable {@code code} of an {@code error} message. The wire value is {@link
 * #code()}; new codes may be added in a minor version, existing ones never change meaning.
 *
 * <p>Immutable and thread-safe.
 */
public enum ErrorCode {
  /** The client message is not JSON. */
  INVALID_JSON("invalid_json"),
  /** JSON, but not an object, or a field has the wrong type or an impossible value. */
  INVALID_MESSAGE("invalid_message"),
  /** The {@code action} is not one of subscribe, unsubscribe, ping. */
  UNKNOWN_ACTION("unknown_action"),
  /** The action needs a {@code topic} and none was given. */
  MISSING_TOPIC("missing_topic"),
  /** The topic name breaks the rules of {@link Topics}. */
  INVALID_TOPIC("invalid_topic"),
  /** The client message is larger than {@link Limits#maxMessageBytes()}. */
  MESSAGE_TOO_LARGE("message_too_large"),
  /** The connection already has {@link Limits#maxSubscriptions()} subscriptions. */
  TOO_MANY_SUBSCRIPTIONS("too_many_subscriptions"),
  /** The hub already has {@link Limits#maxTopics()} topics and this one is new. */
  TOO_MANY_TOPICS("too_many_topics"),
  /** The client sends faster than {@link Limits#messagesPerSecond()}. */
  RATE_LIMITED("rate_limited"),
  /** The {@link Authorizer} refused the subscription. */
  FORBIDDEN("forbidden"),
  /** Something failed on the server; the message says what. */
  INTERNAL("internal");

  private final String code;

  ErrorCode(String code) {
    this.code = code;
  }

  /** The value of the {@code code} field on the wire. */
  public String code() {
    return code;
  }
}
