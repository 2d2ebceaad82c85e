package io.watchcast.websocket;

import java.util.Objects;
import java.util.Optional;

/**
 * What an {@link Authenticator} decided about a handshake: let the client in (with or without a
 * principal), or refuse it with HTTP 401 or 403. Immutable and thread-safe.
 */
public final class Authentication {
  private static final Authentication ANONYMOUS = new Authentication(true, null, 101, "");

  private final boolean allowed;
  private final Object principal;
  private final int status;
  private final String message;

  private Authentication(boolean allowed, Object principal, int status, String message) {
    this.allowed = allowed;
    this.principal = principal;
    this.status = status;
    this.message = message;
  }

  /**
   * Lets the client in as {@code principal}, which the hub's {@code Authorizer} then sees through
   * {@code Connection.principal()}.
   */
  public static Authentication allow(Object principal) {
    return new Authentication(true, Objects.requireNonNull(principal, "principal"), 101, "");
  }

  /** Lets the client in with no principal. */
  public static Authentication anonymous() {
    return ANONYMOUS;
  }

  /** Refuses the handshake with HTTP 401: the client did not say who it is. */
  public static Authentication unauthorized(String message) {
    return new Authentication(false, null, 401, Objects.requireNonNull(message, "message"));
  }

  /** Refuses the handshake with HTTP 403: the client is known and not allowed in. */
  public static Authentication forbidden(String message) {
    return new Authentication(false, null, 403, Objects.requireNonNull(message, "message"));
  }

  /** Whether the client may connect. */
  public boolean allowed() {
    return allowed;
  }

  /** The principal of an allowed client, if one was given. */
  public Optional<Object> principal() {
    return Optional.ofNullable(principal);
  }

  /** The HTTP status of a refusal (401 or 403); 101 for an allowed client. */
  public int status() {
    return status;
  }

  /** The reason of a refusal, sent as the body of the HTTP response; empty when allowed. */
  public String message() {
    return message;
  }

  @Override
  public String toString() {
    return allowed
        ? "Authentication(allowed, principal=" + principal + ")"
        : "Authentication(" + status + ", " + message + ")";
  }
}
