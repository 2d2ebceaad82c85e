package io.watchcast;

import java.util.Objects;

/**
 * Why the hub closes a connection: a stable {@code code} and a human message. Transports map the
 * code to their own close signal (a WebSocket close code, the end of an SSE stream).
 *
 * <p>Immutable and thread-safe.
 */
public record CloseReason(String code, String message) {

  /**
   * The connection's outbound queue passed its limit ({@link Limits#maxQueuedBytes()} or {@link
   * Limits#maxHubQueuedBytes()}) and the client read nothing for {@link Limits#stallTimeout()}, or
   * the message could not wait in a topic's history (see {@link Session}). It may resume.
   */
  public static final String SLOW_CONSUMER = "slow_consumer";

  /** The client kept sending past its rate limit. */
  public static final String RATE_LIMITED = "rate_limited";

  /** The hub or its transport is shutting down. */
  public static final String GOING_AWAY = "going_away";

  public CloseReason {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
  }

  static CloseReason goingAway() {
    return new CloseReason(GOING_AWAY, "server shutting down");
  }
}
