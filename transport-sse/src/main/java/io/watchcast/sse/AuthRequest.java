package io.watchcast.sse;

import java.util.Optional;

/**
 * What an {@link Authenticator} sees of a request. Immutable and thread-safe.
 *
 * @param method the HTTP method
 * @param path the request path, decoded
 * @param token the credential the client sent, looked up in this order: the {@code Authorization:
 *     Bearer} header, the token cookie, the token query parameter (because a browser {@code
 *     EventSource} cannot set headers); empty if none
 * @param remoteAddress the client's IP address
 * @param origin the {@code Origin} header, if any
 */
public record AuthRequest(
    String method,
    String path,
    Optional<String> token,
    String remoteAddress,
    Optional<String> origin) {}
