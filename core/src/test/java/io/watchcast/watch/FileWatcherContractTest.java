package io.watchcast.watch;

import static io.watchcast.watch.FileChange.Kind.CREATED;
import static io.watchcast.watch.FileChange.Kind.DELETED;
import static io.watchcast.watch.FileChange.Kind.MODIFIED;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every backend must do. Run once per backend by its subclasses. Real files in a temp
 * directory; every wait polls to a deadline.
 */
abstract class FileWatcherContractTest {
  @TempDir Path tmp;
  Path root;
  final BatchRecorder recorder = new BatchRecorder();
  WatchHandle watch;
  private int barriers;

  /** The options of the backend under test. */
  abstract WatchOptions options();

  FileWatcher watcher() {
    return FileWatcher.create();
  }

  WatchHandle start() throws IOException {
    return start(options());
  }

  WatchHandle start(WatchOptions options) throws IOException {
    if (root == null) {
      root = Files.createDirectories(tmp.resolve("root"));
    }
    watch = watcher().watch(root, options, recorder);
    return watch;
  }

  @AfterEach
  void closeWatch() {
    if (watch != null) {
      watch.close();
    }
  }

  Path barrier() throws IOException {
    return Files.writeString(root.resolve("barrier-" + (++barriers) + ".txt"), "b");
  }

  /** Changes of {@code path} between now and the batch that reports a new barrier file. */
  List<FileChange.Kind> kindsOfUntilBarrier(Path path) throws IOException {
    Path b = barrier();
    return recorder.changesUntilCreated(b).stream()
        .filter(c -> c.path().equals(path))
        .map(FileChange::kind)
        .toList();
  }

  static Set<Path> filesUnder(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).collect(Collectors.toSet());
    }
  }

  // ---------------------------------------------------------------------------------------

  @Test
  void create_modify_delete_areReportedInOrder() throws IOException {
    start();
    Path f = root.resolve("a.txt");
    Files.writeString(f, "one");
    assertThat(recorder.changesUntil(c -> c.path().equals(f)))
        .containsExactly(new FileChange(f, CREATED));

    Files.writeString(f, "two, longer");
    assertThat(recorder.changesUntil(c -> c.path().equals(f)))
        .containsExactly(new FileChange(f, MODIFIED));

    Files.delete(f);
    assertThat(recorder.changesUntil(c -> c.path().equals(f)))
        .containsExactly(new FileChange(f, DELETED));
    assertThat(watch.stats().batches()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void baseline_isNotReported_andBatchHasOneChangePerPath() throws IOException {
    root = Files.createDirectories(tmp.resolve("root"));
    Files.writeString(root.resolve("old.txt"), "old");
    start();
    Path f = root.resolve("new.txt");
    for (int i = 0; i < 20; i++) {
      Files.writeString(f, "v" + i);
    }
    List<FileChange> changes = recorder.changesUntilCreated(barrier());
    assertThat(changes).noneMatch(c -> c.path().getFileName().toString().equals("old.txt"));
    for (ChangeBatch b : recorder.seen()) {
      assertThat(b.paths()).doesNotHaveDuplicates();
    }
    assertThat(changes).contains(new FileChange(f, CREATED));
  }

  @Test
  void nestedDirectories_createdAtOnce_reportTheFilesTheyHold() throws IOException {
    start();
    Path deep = Files.createDirectories(root.resolve("a/b/c/d"));
    Set<Path> expected = new HashSet<>();
    for (Path d = deep; !d.equals(root); d = d.getParent()) {
      expected.add(Files.writeString(d.resolve("f.txt"), d.toString()));
    }
    recorder.awaitFiles(expected);

    // The new directories are watched too: a later change deep inside is seen.
    Path later = Files.writeString(deep.resolve("later.txt"), "x");
    expected.add(later);
    recorder.awaitFiles(expected);
  }

  @Test
  void atomicRenameSave_isOneModificationOfTheTarget() throws IOException {
    Path target =
        Files.writeString(
            Files.createDirectories(tmp.resolve("root")).resolve("cfg.json"), "{\"v\":1}");
    root = target.getParent();
    start();
    Path temp = root.resolve("cfg.json.tmp-123");
    Files.writeString(temp, "{\"v\":2}");
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

    // One MODIFIED; never a DELETED or CREATED. (Only a writer descheduled between the steps for
    // longer than the quiet period could split the save, and then into two MODIFIED.)
    assertThat(kindsOfUntilBarrier(target)).isNotEmpty().containsOnly(MODIFIED);
    assertThat(Files.readString(target)).isEqualTo("{\"v\":2}");
  }

  @Test
  void vimStyleSave_isOneModificationOfTheTarget() throws IOException {
    Path target =
        Files.writeString(
            Files.createDirectories(tmp.resolve("root")).resolve("notes.md"), "first");
    root = target.getParent();
    start();
    // What vim does with 'backupcopy=no': probe, rename the original away, write anew, drop backup.
    Path probe = Files.writeString(root.resolve("4913"), "");
    Files.delete(probe);
    Path backup = root.resolve("notes.md~");
    Files.move(target, backup, StandardCopyOption.ATOMIC_MOVE);
    Files.writeString(target, "second");
    Files.delete(backup);

    assertThat(kindsOfUntilBarrier(target)).isNotEmpty().containsOnly(MODIFIED);
  }

  @Test
  void rootDeletedAndRecreated_isPickedUpAgain() throws IOException {
    root = Files.createDirectories(tmp.resolve("root"));
    Path a = Files.writeString(Files.createDirectories(root.resolve("sub")).resolve("a.txt"), "a");
    Path b = Files.writeString(root.resolve("b.txt"), "b");
    start();
    recorder.baseline(Set.of(a, b));

    deleteTree(root);
    recorder.awaitFiles(Set.of());

    Files.createDirectories(root);
    Path c = Files.writeString(root.resolve("c.txt"), "c");
    recorder.awaitFiles(Set.of(c));
    Path d = Files.writeString(Files.createDirectories(root.resolve("new")).resolve("d.txt"), "d");
    recorder.awaitFiles(Set.of(c, d));
  }

  @Test
  void symlinkPointingOutsideRoot_isNeverFollowed() throws IOException {
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Path secret = Files.writeString(outside.resolve("secret.txt"), "s");
    start();
    Path dirLink = Files.createSymbolicLink(root.resolve("dirlink"), outside);
    Path fileLink = Files.createSymbolicLink(root.resolve("filelink"), secret);
    List<FileChange> first = recorder.changesUntilCreated(barrier());
    assertThat(first).contains(new FileChange(dirLink, CREATED), new FileChange(fileLink, CREATED));

    Files.writeString(secret, "changed outside, through nothing we watch");
    Files.writeString(outside.resolve("more.txt"), "m");
    Files.createDirectories(outside.resolve("sub")).resolve("x");
    List<FileChange> later = recorder.changesUntilCreated(barrier());
    for (FileChange c : first) {
      assertThat(c.path().startsWith(root)).as("%s under the root", c.path()).isTrue();
    }
    assertThat(later)
        .allSatisfy(
            c -> {
              assertThat(c.path().startsWith(root)).as("%s under the root", c.path()).isTrue();
              assertThat(c.path().startsWith(dirLink)).as("%s under the link", c.path()).isFalse();
              assertThat(c.path()).isNotEqualTo(fileLink);
            });
  }

  @Test
  void excludeGlobs_andDefaultIgnores_areNotReported() throws IOException {
    start(options().withExclude(List.of("*.log", "build", "docs/private/**")));
    Files.writeString(root.resolve("app.log"), "x");
    Files.writeString(
        Files.createDirectories(root.resolve("build/classes")).resolve("A.class"), "x");
    Files.writeString(Files.createDirectories(root.resolve("docs/private")).resolve("p.md"), "x");
    Files.writeString(Files.createDirectories(root.resolve(".git/objects")).resolve("ab"), "x");
    Files.writeString(Files.createDirectories(root.resolve("node_modules/x")).resolve("i.js"), "x");
    Files.writeString(root.resolve(".notes.md.swp"), "x");
    Files.writeString(root.resolve("notes.md~"), "x");
    Files.writeString(root.resolve(".#notes.md"), "x");
    Path kept =
        Files.writeString(Files.createDirectories(root.resolve("docs")).resolve("k.md"), "x");

    List<FileChange> changes = recorder.changesUntilCreated(barrier());
    assertThat(changes.stream().map(FileChange::path))
        .containsExactlyInAnyOrder(kept, root.resolve("barrier-1.txt"));
  }

  @Test
  void includeGlobs_reportOnlyMatchingFiles() throws IOException {
    start(options().withInclude(List.of("*.json", "barrier-*")));
    Files.writeString(root.resolve("a.txt"), "x");
    Path json =
        Files.writeString(Files.createDirectories(root.resolve("d")).resolve("b.json"), "{}");
    List<FileChange> changes = recorder.changesUntilCreated(barrier());
    assertThat(changes.stream().map(FileChange::path))
        .containsExactlyInAnyOrder(json, root.resolve("barrier-1.txt"));
  }

  @Test
  void manyFilesCreatedWhileListenerIsBlocked_finalStateMatchesTheDirectory() throws Exception {
    start();
    recorder.blockNext = new CountDownLatch(1);
    CountDownLatch release = recorder.blockNext;
    Files.writeString(root.resolve("trigger.txt"), "t");
    assertThat(recorder.blocked.await(10, TimeUnit.SECONDS)).isTrue();
    // Half in the watched root (far more than the 512 events a key holds), half in directories
    // created meanwhile, which cannot be registered until the listener returns.
    Path dir = Files.createDirectories(root.resolve("many/nested"));
    for (int i = 0; i < 5_000; i++) {
      Files.writeString((i % 2 == 0 ? root : dir).resolve("f" + i), "x");
    }
    release.countDown();
    recorder.awaitFiles(filesUnder(root));
    afterEventsPiledUp();
  }

  /**
   * Backend-specific checks after {@link
   * #manyFilesCreatedWhileListenerIsBlocked_finalStateMatchesTheDirectory}.
   */
  void afterEventsPiledUp() {}

  @Test
  void burstOfWritesToOneFile_producesAFewBatches_endingWithTheLastState() throws IOException {
    Path f =
        Files.writeString(Files.createDirectories(tmp.resolve("root")).resolve("hot.txt"), "0");
    root = f.getParent();
    start();
    long t0 = System.nanoTime();
    // 3,000 here for both backends; FilePipelineTest does 10,000 through a collector.
    for (int i = 1; i <= 3_000; i++) {
      Files.writeString(f, Integer.toString(i));
    }
    long writingMillis = (System.nanoTime() - t0) / 1_000_000;
    Path b = barrier();
    recorder.changesUntilCreated(b);
    long batches = recorder.seen().size();
    System.out.printf("3,000 writes in %d ms: %d batches%n", writingMillis, batches);
    // Coalesced: about one batch per maxWait while the writes go on, far fewer than the writes.
    assertThat(batches).isLessThan(100);
    assertThat(recorder.seen().stream().flatMap(x -> x.changes().stream()))
        .filteredOn(c -> c.path().equals(f))
        .isNotEmpty()
        .allMatch(c -> c.kind() == MODIFIED);
  }

  @Test
  void directoryRenamedWithinRoot_movesItsFiles_andStaysWatchedUnderTheNewName()
      throws IOException {
    root = Files.createDirectories(tmp.resolve("root"));
    Path a = Files.writeString(Files.createDirectories(root.resolve("a")).resolve("f.txt"), "f");
    start();
    recorder.baseline(Set.of(a));
    Files.move(root.resolve("a"), root.resolve("b"));
    Path moved = root.resolve("b/f.txt");
    recorder.awaitFiles(Set.of(moved));
    Path g = Files.writeString(root.resolve("b/g.txt"), "g");
    recorder.awaitFiles(Set.of(moved, g));
    Files.writeString(moved, "changed");
    assertThat(kindsOfUntilBarrier(moved)).containsExactly(MODIFIED);
  }

  @Test
  void directoryDeletedAndRecreatedUnderTheSameName_isWatchedAgain() throws IOException {
    root = Files.createDirectories(tmp.resolve("root"));
    Path old =
        Files.writeString(Files.createDirectories(root.resolve("d")).resolve("old.txt"), "o");
    start();
    recorder.baseline(Set.of(old));
    deleteTree(root.resolve("d"));
    Path fresh =
        Files.writeString(Files.createDirectories(root.resolve("d")).resolve("new.txt"), "n");
    recorder.awaitFiles(Set.of(fresh));
    Path later = Files.writeString(root.resolve("d/later.txt"), "l");
    recorder.awaitFiles(Set.of(fresh, later));
  }

  @Test
  void rootThatIsALink_isWatchedAtItsTarget() throws IOException {
    Path target = Files.createDirectories(tmp.resolve("target"));
    root = Files.createSymbolicLink(tmp.resolve("root-link"), target);
    start();
    assertThat(watch.root()).isEqualTo(target.toRealPath());
    Path f = Files.writeString(target.resolve("f.txt"), "f");
    recorder.awaitFiles(Set.of(f.toRealPath()));
  }

  @Test
  void listenerThatThrows_doesNotStopTheWatch() throws IOException {
    start();
    recorder.throwOnBatch = true;
    Path a = Files.writeString(root.resolve("a.txt"), "a");
    recorder.awaitFiles(Set.of(a));
    recorder.throwOnBatch = false;
    Path b = Files.writeString(root.resolve("b.txt"), "b");
    recorder.awaitFiles(Set.of(a, b));
    io.watchcast.testing.Await.await(
        () -> watch.stats().listenerFailures() >= 1, "a counted failure");
    assertThat(watch.isClosed()).isFalse();
  }

  @Test
  void close_isIdempotent_andStopsDelivery() throws IOException {
    start();
    Path a = Files.writeString(root.resolve("a.txt"), "a");
    recorder.awaitFiles(Set.of(a));
    watch.close();
    watch.close();
    assertThat(watch.isClosed()).isTrue();
    Files.writeString(root.resolve("after.txt"), "x");
    recorder.assertQuietFor(java.time.Duration.ofMillis(300));
  }

  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      List<Path> all = new ArrayList<>(s.sorted(Comparator.reverseOrder()).toList());
      for (Path p : all) {
        Files.delete(p);
      }
    }
  }
}
