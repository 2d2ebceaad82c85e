package io.watchcast.websocket;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A client's WebSocket opening handshake, as the {@link Authenticator} sees it. Immutable and
 * thread-safe.
 *
 * @param path the request path, without the query
 * @param query the decoded query parameters in order of appearance; a name may repeat
 * @param headers the request headers, names in lower case (one value per name, as the handshake
 *     parser keeps it)
 * @param cookies the cookies of the {@code Cookie} header, by name
 * @param remoteAddress the client's address and port as the server socket sees it (behind a proxy,
 *     the proxy's)
 */
public record Handshake(
    String path,
    Map<String, List<String>> query,
    Map<String, String> headers,
    Map<String, String> cookies,
    InetSocketAddress remoteAddress) {

  public Handshake {
    Objects.requireNonNull(path, "path");
    query = Map.copyOf(query);
    headers = Map.copyOf(headers);
    cookies = Map.copyOf(cookies);
    Objects.requireNonNull(remoteAddress, "remoteAddress");
  }

  /** The header {@code name}, matched without regard to case. */
  public Optional<String> header(String name) {
    return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
  }

  /** The first value of the query parameter {@code name}. */
  public Optional<String> queryParameter(String name) {
    List<String> values = query.get(name);
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }

  /** The cookie {@code name}. */
  public Optional<String> cookie(String name) {
    return Optional.ofNullable(cookies.get(name));
  }
}
