package io.watchcast.websocket;

import java.net.URI;
import java.util.Locale;
import java.util.Set;

/** Decides whether a browser {@code Origin} may open a WebSocket. Immutable, thread-safe. */
final class OriginPolicy {
  private final boolean allowAny;
  private final Set<String> hosts;
  private final Set<String> origins;

  OriginPolicy(boolean allowAny, Set<String> hosts, Set<String> origins) {
    this.allowAny = allowAny;
    this.hosts = Set.copyOf(hosts);
    this.origins = Set.copyOf(origins);
  }

  /**
   * Whether {@code origin} (the header's value; empty when absent) is allowed. An absent header is
   * a non-browser client, which no browser page can impersonate: allowed. {@code null} (opaque
   * origins: sandboxed frames, files) and anything unparsable are refused unless any origin is.
   */
  boolean allows(String origin) {
    if (allowAny || origin.isEmpty()) {
      return true;
    }
    String normalized = normalizeOrigin(origin);
    if (origins.contains(normalized)) {
      return true;
    }
    String host;
    try {
      URI uri = new URI(origin.trim());
      String scheme = uri.getScheme();
      if (scheme == null
          || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          || uri.getHost() == null) {
        return false;
      }
      host = normalizeHost(uri.getHost());
    } catch (Exception e) {
      return false;
    }
    return hosts.contains(host);
  }

  /** Lower case, brackets around IPv6 literals, no trailing dot. */
  static String normalizeHost(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    if (h.indexOf(':') >= 0 && !h.startsWith("[")) {
      h = "[" + h + "]";
    }
    return h;
  }

  static String normalizeOrigin(String origin) {
    String o = origin.trim().toLowerCase(Locale.ROOT);
    while (o.endsWith("/")) {
      o = o.substring(0, o.length() - 1);
    }
    return o;
  }
}
