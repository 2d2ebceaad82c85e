package io.watchcast.watch;

import java.io.IOException;
import java.nio.file.Path;

/** Test seams of the native backend: lose events or watches, fail registrations. Thread-safe. */
class Hooks {
  static final Hooks NONE = new Hooks();

  /** Whether native events are dropped before the watch sees them (a mount that delivers none). */
  boolean dropEvents() {
    return false;
  }

  /**
   * Whether the watch of {@code dir} is lost now (as on an unmount), though the directory stays.
   */
  boolean loseWatchOf(Path dir) {
    return false;
  }

  /** Called before each directory registration; throw to simulate a failure. */
  void beforeRegister(Path dir) throws IOException {}
}
