package io.watchcast.sse;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which browser origins may use the API and streams. Jetty-free. Immutable and thread-safe.
 *
 * <p>A request without {@code Origin} (curl, a script, a same-origin {@code EventSource} in most
 * browsers) is allowed. A request whose {@code Origin} is the server's own scheme, host and port is
 * allowed. Any other origin must be in the configured list (or the list must hold {@code *}).
 */
final class CorsPolicy {
  private final Set<String> allowed;
  private final boolean any;

  CorsPolicy(List<String> origins) {
    this.any = origins.contains("*");
    this.allowed = Set.copyOf(origins.stream().map(CorsPolicy::normalize).toList());
  }

  /** {@code scheme://host[:port]} in lower case, without a default port; null if not an origin. */
  static String normalize(String origin) {
    if (origin == null) {
      return null;
    }
    if (origin.equals("*")) {
      return origin;
    }
    try {
      URI u = new URI(origin.trim());
      String scheme = u.getScheme();
      String host = u.getHost();
      if (scheme == null || host == null) {
        return null;
      }
      scheme = scheme.toLowerCase(Locale.ROOT);
      int port = u.getPort();
      boolean defaultPort =
          port < 0
              || (scheme.equals("http") && port == 80)
              || (scheme.equals("https") && port == 443);
      return scheme + "://" + host.toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + port);
    } catch (Exception e) {
      return null;
    }
  }

  /** Whether {@code origin} is listed (not counting same-origin). */
  boolean isListed(String origin) {
    String n = normalize(origin);
    return n != null && (any || allowed.contains(n));
  }

  /**
   * Whether a request from {@code origin} to a server reached as {@code scheme://host} (the Host
   * header) may proceed.
   */
  boolean allows(String origin, String scheme, String hostHeader) {
    if (origin == null) {
      return true;
    }
    if (isListed(origin)) {
      return true;
    }
    String self = hostHeader == null ? null : normalize(scheme + "://" + hostHeader);
    String n = normalize(origin);
    return n != null && n.equals(self);
  }
}
