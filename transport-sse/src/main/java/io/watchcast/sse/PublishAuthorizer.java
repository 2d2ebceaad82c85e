package io.watchcast.sse;

/**
 * Decides whether an authenticated principal may publish on a topic through {@code POST
 * /api/topics/{topic}}. A refusal answers {@code 403} with code {@code forbidden}.
 *
 * <p>Called on a Jetty request thread with no lock of ours held. Must be thread-safe.
 */
@FunctionalInterface
public interface PublishAuthorizer {

  boolean canPublish(Object principal, String topic);

  /** Any authenticated principal may publish on any topic: the default. */
  static PublishAuthorizer allowAll() {
    return (principal, topic) -> true;
  }
}
