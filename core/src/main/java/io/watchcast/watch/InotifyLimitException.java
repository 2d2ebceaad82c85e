package io.watchcast.watch;

import java.io.IOException;

/**
 * The kernel refused another inotify watch or instance: the tree has more directories than {@code
 * fs.inotify.max_user_watches} allows (or more watchers than {@code
 * fs.inotify.max_user_instances}). The watch is not started half-watched; raise the limit, or allow
 * a fall back to polling with {@link WatchOptions#withFallbackToPolling(boolean)}.
 *
 * <p>Immutable once thrown, like any exception; safe to pass between threads.
 */
public final class InotifyLimitException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String sysctl;

  InotifyLimitException(String sysctl, String detail, Throwable cause) {
    super(
        "inotify limit reached ("
            + detail
            + "): raise it with `sysctl -w "
            + sysctl
            + "=524288` (persist it in /etc/sysctl.d/), watch fewer directories (exclude globs), or"
            + " allow WatchOptions.withFallbackToPolling(true)",
        cause);
    this.sysctl = sysctl;
  }

  /** The sysctl to raise: {@code fs.inotify.max_user_watches} or {@code ..max_user_instances}. */
  public String sysctl() {
    return sysctl;
  }

  /** The limit exception for {@code e}, or null when {@code e} is not about an inotify limit. */
  static InotifyLimitException from(IOException e) {
    if (e instanceof InotifyLimitException) {
      return (InotifyLimitException) e;
    }
    String m = String.valueOf(e.getMessage());
    if (m.contains("inotify watches")) {
      return new InotifyLimitException("fs.inotify.max_user_watches", m, e);
    }
    if (m.contains("inotify instances")) {
      return new InotifyLimitException("fs.inotify.max_user_instances", m, e);
    }
    return null;
  }
}
