package io.watchcast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.watch.ChangeBatch;
import io.watchcast.watch.FileChange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class MtimeCacheTest {
  @TempDir Path dir;
  final AtomicInteger loaderCalls = new AtomicInteger();

  MtimeCache<String> cache(MtimeCache.Builder b) {
    return b.build(
        p -> {
          loaderCalls.incrementAndGet();
          return Files.readString(p);
        });
  }

  static FileTime hourAgo() {
    return FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
  }

  // get

  @Test
  void get_unchangedFile_isAHit() throws IOException {
    Path f = Files.writeString(dir.resolve("a"), "one");
    Files.setLastModifiedTime(f, hourAgo());
    MtimeCache<String> c = cache(MtimeCache.builder());
    assertThat(c.get(f)).isEqualTo("one");
    assertThat(c.get(f)).isEqualTo("one");
    assertThat(loaderCalls).hasValue(1);
    CacheStats s = c.stats();
    assertThat(s.hits()).isEqualTo(1);
    assertThat(s.misses()).isEqualTo(1);
    assertThat(s.loads()).isEqualTo(1);
    assertThat(s.racyLoads()).isZero();
  }

  @Test
  void get_changedSizeOrMtime_reloads() throws IOException {
    Path f = Files.writeString(dir.resolve("a"), "one");
    Files.setLastModifiedTime(f, hourAgo());
    MtimeCache<String> c = cache(MtimeCache.builder());
    c.get(f);
    Files.writeString(f, "three");
    Files.setLastModifiedTime(f, hourAgo());
    assertThat(c.get(f)).isEqualTo("three");
    Files.writeString(f, "thrEE");
    Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() - 1_000_000));
    assertThat(c.get(f)).isEqualTo("thrEE");
  }

  @Test
  void get_fileReplacedWithSameSizeAndMtime_reloadsByFileKey() throws IOException {
    FileTime old = hourAgo();
    Path f = Files.writeString(dir.resolve("a"), "aaaa");
    Files.setLastModifiedTime(f, old);
    MtimeCache<String> c = cache(MtimeCache.builder());
    assertThat(c.get(f)).isEqualTo("aaaa");
    Path tmp = Files.writeString(dir.resolve("a.tmp"), "bbbb");
    Files.setLastModifiedTime(tmp, old);
    Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    assertThat(c.get(f)).isEqualTo("bbbb");
  }

  @Test
  void get_racilyClean_sameSizeSameMtime_isNotServedStale() throws IOException {
    Path f = Files.writeString(dir.resolve("a"), "aaaa");
    FileTime t = FileTime.fromMillis(System.currentTimeMillis()); // as if written just now
    Files.setLastModifiedTime(f, t);
    MtimeCache<String> c = cache(MtimeCache.builder());
    assertThat(c.get(f)).isEqualTo("aaaa");

    // Rewritten in place within the timestamp granularity: same inode, size and mtime.
    Files.writeString(f, "bbbb");
    Files.setLastModifiedTime(f, t);
    assertThat(c.get(f)).isEqualTo("bbbb");
    assertThat(c.stats().racyLoads()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void get_racilyClean_withProtectionOff_isServedStale_whichIsWhyItIsOn() throws IOException {
    Path f = Files.writeString(dir.resolve("a"), "aaaa");
    FileTime t = FileTime.fromMillis(System.currentTimeMillis());
    Files.setLastModifiedTime(f, t);
    MtimeCache<String> c = cache(MtimeCache.builder().timestampGranularity(Duration.ZERO));
    assertThat(c.get(f)).isEqualTo("aaaa");
    Files.writeString(f, "bbbb");
    Files.setLastModifiedTime(f, t);
    assertThat(c.get(f)).isEqualTo("aaaa");
  }

  @Test
  void get_oldEnoughValue_isTrustedAgain() throws IOException {
    Path f = Files.writeString(dir.resolve("a"), "aaaa");
    MtimeCache<String> c = cache(MtimeCache.builder());
    Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis()));
    c.get(f); // racy: not trusted
    c.get(f); // reloaded, still racy
    assertThat(loaderCalls).hasValue(2);
    Files.setLastModifiedTime(f, hourAgo());
    c.get(f); // stamp changed: reload, now trusted
    c.get(f);
    assertThat(loaderCalls).hasValue(3);
  }

  @Test
  void get_missingFile_throwsAndDropsTheEntry() throws IOException {
    Path f = Files.writeString(dir.resolve("a"), "a");
    Files.setLastModifiedTime(f, hourAgo());
    MtimeCache<String> c = cache(MtimeCache.builder());
    c.get(f);
    Files.delete(f);
    assertThatThrownBy(() -> c.get(f)).isInstanceOf(NoSuchFileException.class);
    assertThat(c.size()).isZero();
  }

  @Test
  void get_loaderThrows_cachesNothing() throws IOException {
    Path f = Files.writeString(dir.resolve("a"), "a");
    AtomicInteger calls = new AtomicInteger();
    MtimeCache<String> c =
        MtimeCache.builder()
            .build(
                p -> {
                  if (calls.incrementAndGet() == 1) {
                    throw new IOException("boom");
                  }
                  return "ok";
                });
    assertThatThrownBy(() -> c.get(f)).hasMessage("boom");
    assertThat(c.get(f)).isEqualTo("ok");
    assertThat(c.stats().loadFailures()).isEqualTo(1);
  }

  @Test
  void get_concurrentRequestsForOnePath_loadOnce() throws Exception {
    Path f = Files.writeString(dir.resolve("a"), "shared");
    Files.setLastModifiedTime(f, hourAgo());
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    MtimeCache<String> c =
        MtimeCache.builder()
            .build(
                p -> {
                  loaderCalls.incrementAndGet();
                  loading.countDown();
                  try {
                    release.await(10, TimeUnit.SECONDS);
                  } catch (InterruptedException e) {
                    throw new AssertionError(e);
                  }
                  return Files.readString(p);
                });
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return c.get(f);
                }));
      }
      start.countDown();
      assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
      // Let the others reach the in-flight load before releasing it.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (c.stats().misses() < threads && System.nanoTime() < deadline) {
        Thread.sleep(1); // polling to a deadline
      }
      release.countDown();
      for (Future<String> r : results) {
        assertThat(r.get(10, TimeUnit.SECONDS)).isEqualTo("shared");
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(loaderCalls).hasValue(1);
    assertThat(c.stats().loads()).isEqualTo(1);
  }

  // bounds and invalidation

  @Test
  void maximumSize_evictsTheLeastRecentlyUsed() throws IOException {
    MtimeCache<String> c = cache(MtimeCache.builder().maximumSize(2));
    Path a = old(Files.writeString(dir.resolve("a"), "a"));
    Path b = old(Files.writeString(dir.resolve("b"), "b"));
    Path d = old(Files.writeString(dir.resolve("d"), "d"));
    c.get(a);
    c.get(b);
    c.get(a); // a is now the most recent
    c.get(d); // evicts b
    assertThat(c.size()).isEqualTo(2);
    assertThat(c.stats().evictions()).isEqualTo(1);
    int before = loaderCalls.get();
    c.get(a);
    assertThat(loaderCalls).hasValue(before);
    c.get(b);
    assertThat(loaderCalls).hasValue(before + 1);
  }

  @Test
  void maximumSize_defaultIsAThousand_andTheEdgeHolds() throws IOException {
    assertThat(MtimeCache.DEFAULT_MAXIMUM_SIZE).isEqualTo(1000);
    MtimeCache<String> c = cache(MtimeCache.builder());
    for (int i = 0; i < 1000; i++) {
      c.get(old(Files.writeString(dir.resolve("f" + i), "x")));
    }
    assertThat(c.stats().evictions()).isZero();
    c.get(old(Files.writeString(dir.resolve("one-more"), "x")));
    assertThat(c.size()).isEqualTo(1000);
    assertThat(c.stats().evictions()).isEqualTo(1);
  }

  @Test
  void invalidate_pathOrBatch_forcesAReload() throws IOException {
    Path a = old(Files.writeString(dir.resolve("a"), "a"));
    MtimeCache<String> c = cache(MtimeCache.builder());
    c.get(a);
    c.invalidate(a);
    c.get(a);
    assertThat(loaderCalls).hasValue(2);
    c.invalidate(new ChangeBatch(List.of(new FileChange(a, FileChange.Kind.MODIFIED)), false, 0));
    c.get(a);
    assertThat(loaderCalls).hasValue(3);
    c.invalidateAll();
    assertThat(c.size()).isZero();
  }

  @Test
  void builder_misuse_failsAtOnce() {
    assertThatThrownBy(() -> MtimeCache.builder().maximumSize(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MtimeCache.builder().maximumSize(5).maximumSize(6))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> MtimeCache.builder().timestampGranularity(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  static Path old(Path p) throws IOException {
    Files.setLastModifiedTime(p, hourAgo());
    return p;
  }
}
