package io.watchcast.watch;

import static io.watchcast.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the native backend does: the health check, inotify limits; its thread. */
final class NativeWatcherTest {
  @TempDir Path root;
  final BatchRecorder recorder = new BatchRecorder();
  WatchHandle watch;

  /** Hooks with failure switches. */
  static final class FaultyHooks extends Hooks {
    volatile boolean dropEvents;
    volatile String failRegisterOfName;
    volatile String loseWatchOfName;

    @Override
    boolean loseWatchOf(Path dir) {
      String name = loseWatchOfName;
      if (name != null && dir.getFileName() != null && dir.getFileName().toString().equals(name)) {
        loseWatchOfName = null; // once
        return true;
      }
      return false;
    }

    @Override
    boolean dropEvents() {
      return dropEvents;
    }

    @Override
    void beforeRegister(Path dir) throws IOException {
      String name = failRegisterOfName;
      if (name != null && dir.getFileName() != null && dir.getFileName().toString().equals(name)) {
        // The exact text of the JDK's LinuxWatchService on ENOSPC.
        throw new IOException("User limit of inotify watches reached");
      }
    }
  }

  final FaultyHooks hooks = new FaultyHooks();

  WatchHandle start(WatchOptions options) throws IOException {
    watch = new DefaultFileWatcher(hooks).watch(root, options, recorder);
    return watch;
  }

  @AfterEach
  void close() {
    if (watch != null) {
      watch.close();
    }
  }

  @Test
  void lostWatch_ofAnExistingDirectory_isRescannedAndWatchedAgain() throws IOException {
    Path sub = Files.createDirectories(root.resolve("sub"));
    start(WatchOptions.defaults());
    hooks.loseWatchOfName = "sub";
    Path a = Files.writeString(sub.resolve("a.txt"), "a");
    recorder.awaitFiles(Set.of(a));
    assertThat(recorder.seen()).anyMatch(ChangeBatch::rescan);
    assertThat(watch.stats().rescans()).isPositive();
    Path b = Files.writeString(sub.resolve("b.txt"), "b"); // watched again
    recorder.awaitFiles(Set.of(a, b));
  }

  @Test
  void listener_runsOnTheWatchThread() throws IOException {
    String[] thread = new String[1];
    CountDownLatch called = new CountDownLatch(1);
    watch =
        new DefaultFileWatcher(hooks)
            .watch(
                root,
                WatchOptions.defaults(),
                b -> {
                  thread[0] = Thread.currentThread().getName();
                  called.countDown();
                });
    Files.writeString(root.resolve("a"), "a");
    await(() -> called.getCount() == 0, "a batch");
    assertThat(thread[0]).startsWith("watchcast-watch-");
  }

  @Test
  void healthCheck_passes_andTheCanaryIsNeverReported() throws IOException {
    start(WatchOptions.defaults().withHealthCheck(Duration.ofMillis(50), Duration.ofSeconds(5)));
    await(() -> watch.stats().healthChecks() >= 3, "three health checks");
    Path a = Files.writeString(root.resolve("a.txt"), "a");
    recorder.awaitFiles(Set.of(a));
    assertThat(recorder.seen())
        .flatMap(ChangeBatch::paths)
        .noneMatch(p -> p.getFileName().toString().equals(WatchLoop.CANARY));
    assertThat(watch.stats().backend()).isEqualTo(WatchOptions.Backend.NATIVE);
    assertThat(watch.stats().switchedToPolling()).isFalse();
  }

  @Test
  void healthCheck_whenEventsAreLost_switchesToPolling_andStillReports() throws IOException {
    hooks.dropEvents = true; // a mount that delivers no events
    start(
        WatchOptions.defaults()
            .withPollInterval(Duration.ofMillis(20))
            .withHealthCheck(Duration.ofMillis(50), Duration.ofMillis(300)));
    Path a = Files.writeString(root.resolve("a.txt"), "a");
    recorder.awaitFiles(Set.of(a));

    WatchStats stats = watch.stats();
    assertThat(stats.backend()).isEqualTo(WatchOptions.Backend.POLLING);
    assertThat(stats.switchedToPolling()).isTrue();
    assertThat(stats.switchReason()).contains("health check");
    assertThat(recorder.seen().get(0).rescan()).isTrue();
    assertThat(Files.exists(root.resolve(WatchLoop.CANARY))).isFalse();
  }

  @Test
  void inotifyLimit_atStart_failsWithTheSysctlToRaise() throws IOException {
    Files.createDirectories(root.resolve("a/deep/er"));
    hooks.failRegisterOfName = "deep";
    assertThatThrownBy(() -> start(WatchOptions.defaults()))
        .isInstanceOf(InotifyLimitException.class)
        .hasMessageContaining("fs.inotify.max_user_watches")
        .hasMessageContaining("withFallbackToPolling");
  }

  @Test
  void inotifyLimit_atStart_withFallback_pollsTheWholeTree() throws IOException {
    Path deep = Files.createDirectories(root.resolve("a/deep/er"));
    hooks.failRegisterOfName = "deep";
    start(
        WatchOptions.defaults()
            .withFallbackToPolling(true)
            .withPollInterval(Duration.ofMillis(20)));
    assertThat(watch.stats().backend()).isEqualTo(WatchOptions.Backend.POLLING);
    assertThat(watch.stats().switchReason()).contains("fs.inotify.max_user_watches");
    Path f = Files.writeString(deep.resolve("f.txt"), "f");
    recorder.awaitFiles(Set.of(f));
  }

  @Test
  void inotifyLimit_later_withoutFallback_failsLoudly_neverHalfWatched() throws IOException {
    start(WatchOptions.defaults());
    hooks.failRegisterOfName = "deep";
    Path ok = Files.writeString(root.resolve("ok.txt"), "ok");
    recorder.awaitFiles(Set.of(ok));
    Files.createDirectories(root.resolve("deep"));
    await(() -> !recorder.errors.isEmpty(), "onError");
    assertThat(recorder.errors.peek())
        .isInstanceOf(InotifyLimitException.class)
        .hasMessageContaining("fs.inotify.max_user_watches");
    assertThat(watch.stats().failed()).isTrue();
    assertThat(watch.isClosed()).isTrue();
  }

  @Test
  void inotifyLimit_later_withFallback_switchesToPolling_andMissesNothing() throws IOException {
    start(
        WatchOptions.defaults()
            .withFallbackToPolling(true)
            .withPollInterval(Duration.ofMillis(20)));
    hooks.failRegisterOfName = "deep";
    Path deep = Files.createDirectories(root.resolve("deep/inner"));
    Path f = Files.writeString(deep.resolve("f.txt"), "f");
    recorder.awaitFiles(Set.of(f));
    Path g = Files.writeString(deep.resolve("g.txt"), "g");
    recorder.awaitFiles(Set.of(f, g));
    assertThat(watch.stats().backend()).isEqualTo(WatchOptions.Backend.POLLING);
    assertThat(watch.stats().switchedToPolling()).isTrue();
    assertThat(watch.stats().failed()).isFalse();
  }

  @Test
  void watch_ofAFile_isRefused() throws IOException {
    Path file = Files.writeString(root.resolve("file"), "x");
    assertThatThrownBy(() -> FileWatcher.create().watch(file, WatchOptions.defaults(), b -> {}))
        .isInstanceOf(java.nio.file.NotDirectoryException.class);
  }
}
