package io.watchcast.sse;

import java.util.Optional;

/**
 * Decides who a request comes from. Runs for the event stream and the REST endpoints (not for
 * static files or {@code /watchcast.js}). An empty result answers {@code 401} with code {@code
 * unauthorized}; a present one becomes the connection's {@link
 * io.watchcast.Connection#principal()}, which the hub's {@link io.watchcast.Authorizer} sees on
 * each subscribe.
 *
 * <p>Called on a Jetty request thread, once per request, with no lock of ours held. Must be
 * thread-safe and should be fast; an exception it throws answers {@code 500} and is logged.
 */
@FunctionalInterface
public interface Authenticator {

  /** The principal for this request, or empty to refuse it. */
  Optional<Object> authenticate(AuthRequest request);

  /** Accepts every request, with the principal {@code "anonymous"}. */
  static Authenticator allowAll() {
    return request -> Optional.of("anonymous");
  }

  /** Accepts requests that carry exactly {@code token}; the principal is the token's holder. */
  static Authenticator token(String token, Object principal) {
    java.util.Objects.requireNonNull(token, "token");
    java.util.Objects.requireNonNull(principal, "principal");
    byte[] expected = token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return request ->
        request
            .token()
            .filter(
                t ->
                    java.security.MessageDigest.isEqual(
                        expected, t.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
            .map(t -> principal);
  }
}
