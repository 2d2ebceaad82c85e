package io.watchcast.watch;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a root is watched. Immutable and thread-safe; start from {@link #defaults()} and change what
 * you need with the {@code with*} methods.
 *
 * <table>
 *   <caption>Options and their defaults</caption>
 *   <tr><th>option</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code backend}</td><td>{@link Backend#NATIVE}</td><td>JDK WatchService (inotify on
 *       Linux) or {@link Backend#POLLING}</td></tr>
 *   <tr><td>{@code quietPeriod}</td><td>20 ms</td><td>a batch is delivered once no event came for
 *       this long</td></tr>
 *   <tr><td>{@code maxWait}</td><td>200 ms</td><td>... or once the oldest event of the batch is
 *       this old, so a file that changes non-stop still produces batches</td></tr>
 *   <tr><td>{@code pollInterval}</td><td>250 ms</td><td>time between two scans of the polling
 *       backend; a scan that finds changes is confirmed by another after the quiet period, and the
 *       batch delivered when one finds nothing new (or after {@code maxWait})</td></tr>
 *   <tr><td>{@code include}</td><td>none (every file)</td><td>when not empty, only files matching
 *       one of these {@link GlobSet globs} are reported</td></tr>
 *   <tr><td>{@code exclude}</td><td>none</td><td>files and directories matching one of these are
 *       never reported; an excluded directory is not entered nor watched</td></tr>
 *   <tr><td>{@code defaultIgnores}</td><td>true</td><td>also exclude {@link #DEFAULT_IGNORES}:
 *       VCS folders, {@code node_modules}, editors' swap and backup files</td></tr>
 *   <tr><td>{@code healthCheckInterval}</td><td>zero (off)</td><td>every interval the native
 *       backend writes a canary file into the root; if its event is not seen within {@code
 *       healthCheckTimeout} (default 2 s), the root switches to polling</td></tr>
 *   <tr><td>{@code fallbackToPolling}</td><td>false</td><td>when the inotify limit is reached, poll
 *       the root instead of failing with {@link InotifyLimitException}</td></tr>
 * </table>
 *
 * <p>Why 20 ms / 200 ms and not watchfiles' 50 ms / 1600 ms: watchfiles debounces for a developer
 * tool that restarts a process on change, where waiting for a whole {@code git checkout} to finish
 * saves a costly restart. Here a batch only re-runs the collectors of the files it touched and
 * publishes the new state, which is cheap and idempotent, so we favor latency: 20 ms of quiet is
 * longer than the gap between the steps of an editor's save (write temp, rename; or rename away,
 * write), so a save still arrives as one modification, and a 200 ms cap keeps a dashboard moving at
 * five updates per second while a file is rewritten non-stop.
 */
public record WatchOptions(
    Backend backend,
    Duration quietPeriod,
    Duration maxWait,
    Duration pollInterval,
    List<String> include,
    List<String> exclude,
    boolean defaultIgnores,
    Duration healthCheckInterval,
    Duration healthCheckTimeout,
    boolean fallbackToPolling) {

  /** Which mechanism finds changes. */
  public enum Backend {
    /**
     * The JDK's {@link java.nio.file.WatchService}: inotify on Linux, one watch per directory. On
     * macOS the JDK's implementation itself polls every few seconds; prefer {@link #POLLING} there.
     */
    NATIVE,
    /**
     * Scans the tree every {@link #pollInterval()} and compares modification time, size and file
     * key. For network and container mounts that deliver no events, and for platforms without
     * native events.
     */
    POLLING
  }

  public static final Duration DEFAULT_QUIET_PERIOD = Duration.ofMillis(20);
  public static final Duration DEFAULT_MAX_WAIT = Duration.ofMillis(200);
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(250);
  public static final Duration DEFAULT_HEALTH_CHECK_TIMEOUT = Duration.ofSeconds(2);

  /**
   * Excluded unless {@link #defaultIgnores()} is false: VCS metadata, {@code node_modules}, vim
   * swap files and its write probe {@code 4913}, backup files {@code name~}, emacs lock and
   * auto-save files.
   */
  public static final List<String> DEFAULT_IGNORES =
      List.of(
          ".git",
          ".hg",
          ".svn",
          "node_modules",
          "*.swp",
          "*.swo",
          "*.swx",
          "*~",
          ".#*",
          "#*#",
          "4913",
          ".DS_Store");

  private static final WatchOptions DEFAULTS =
      new WatchOptions(
          Backend.NATIVE,
          DEFAULT_QUIET_PERIOD,
          DEFAULT_MAX_WAIT,
          DEFAULT_POLL_INTERVAL,
          List.of(),
          List.of(),
          true,
          Duration.ZERO,
          DEFAULT_HEALTH_CHECK_TIMEOUT,
          false);

  public WatchOptions {
    Objects.requireNonNull(backend, "backend");
    requireNonNegative(quietPeriod, "quietPeriod");
    requireNonNegative(maxWait, "maxWait");
    requireNonNegative(healthCheckInterval, "healthCheckInterval");
    Objects.requireNonNull(pollInterval, "pollInterval");
    Objects.requireNonNull(healthCheckTimeout, "healthCheckTimeout");
    if (pollInterval.isZero() || pollInterval.isNegative()) {
      throw new IllegalArgumentException("pollInterval must be positive, was " + pollInterval);
    }
    if (healthCheckTimeout.isZero() || healthCheckTimeout.isNegative()) {
      throw new IllegalArgumentException(
          "healthCheckTimeout must be positive, was " + healthCheckTimeout);
    }
    if (maxWait.compareTo(quietPeriod) < 0) {
      throw new IllegalArgumentException(
          "maxWait (" + maxWait + ") must be at least quietPeriod (" + quietPeriod + ")");
    }
    include = List.copyOf(Objects.requireNonNull(include, "include"));
    exclude = List.copyOf(Objects.requireNonNull(exclude, "exclude"));
    GlobSet.of(include); // fail now on a malformed pattern
    GlobSet.of(exclude);
  }

  private static void requireNonNegative(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative, was " + d);
    }
  }

  /** The defaults listed above. */
  public static WatchOptions defaults() {
    return DEFAULTS;
  }

  public WatchOptions withBackend(Backend backend) {
    return new WatchOptions(
        backend,
        quietPeriod,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        healthCheckInterval,
        healthCheckTimeout,
        fallbackToPolling);
  }

  /** The debounce: deliver after {@code quiet} without events, or {@code maxWait} at most. */
  public WatchOptions withDebounce(Duration quiet, Duration maxWait) {
    return new WatchOptions(
        backend,
        quiet,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        healthCheckInterval,
        healthCheckTimeout,
        fallbackToPolling);
  }

  public WatchOptions withPollInterval(Duration pollInterval) {
    return new WatchOptions(
        backend,
        quietPeriod,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        healthCheckInterval,
        healthCheckTimeout,
        fallbackToPolling);
  }

  /** Only files matching one of these globs are reported (empty: every file). */
  public WatchOptions withInclude(List<String> include) {
    return new WatchOptions(
        backend,
        quietPeriod,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        healthCheckInterval,
        healthCheckTimeout,
        fallbackToPolling);
  }

  /** Files and directories matching one of these globs are ignored. */
  public WatchOptions withExclude(List<String> exclude) {
    return new WatchOptions(
        backend,
        quietPeriod,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        healthCheckInterval,
        healthCheckTimeout,
        fallbackToPolling);
  }

  public WatchOptions withDefaultIgnores(boolean defaultIgnores) {
    return new WatchOptions(
        backend,
        quietPeriod,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        healthCheckInterval,
        healthCheckTimeout,
        fallbackToPolling);
  }

  /** Checks native events with a canary file every {@code interval} (zero: never). */
  public WatchOptions withHealthCheck(Duration interval, Duration timeout) {
    return new WatchOptions(
        backend,
        quietPeriod,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        interval,
        timeout,
        fallbackToPolling);
  }

  public WatchOptions withFallbackToPolling(boolean fallbackToPolling) {
    return new WatchOptions(
        backend,
        quietPeriod,
        maxWait,
        pollInterval,
        include,
        exclude,
        defaultIgnores,
        healthCheckInterval,
        healthCheckTimeout,
        fallbackToPolling);
  }
}
