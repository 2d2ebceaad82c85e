package io.watchcast.collect;

import static io.watchcast.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import io.watchcast.testing.FakeConnection;
import io.watchcast.watch.WatchOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class FilePipelineTest {
  @TempDir Path tmp;
  Path root;
  ConnectionManager hub;
  FakeConnection client;
  FilePipeline pipeline;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectories(tmp.resolve("root"));
    hub = ConnectionManager.builder().build();
    client = new FakeConnection();
    client.attach(hub.register(client));
    client.session().receive("{\"action\":\"subscribe\",\"topic\":\"*\"}");
    assertThat(client.next().type()).isEqualTo("subscribed");
  }

  @AfterEach
  void tearDown() {
    if (pipeline != null) {
      pipeline.close();
    }
    hub.close();
  }

  static Collector<Map<String, String>> fileCollector(String topic, String file) {
    return Collector.of(
        topic,
        List.of(file),
        ctx -> {
          Path p = ctx.resolve(file);
          return Map.of("content", Files.exists(p) ? ctx.readString(p) : "<none>");
        });
  }

  FilePipeline start(FilePipeline.Builder b) throws IOException {
    pipeline = b.build();
    pipeline.start();
    return pipeline;
  }

  /** Messages received but not yet matched by {@link #awaitMessage}, in order. */
  final List<Envelope> unmatched = new java.util.ArrayList<>();

  /**
   * The first message on {@code topic} that satisfies {@code p}, among those received and not yet
   * matched; the others are kept for later waits.
   */
  Envelope awaitMessage(String topic, Predicate<Envelope> p) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int i = 0;
    while (true) {
      for (; i < unmatched.size(); i++) {
        Envelope e = unmatched.get(i);
        if (topic.equals(e.topic()) && p.test(e)) {
          unmatched.remove(i);
          return e;
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("no matching message on " + topic + "; received " + unmatched);
      }
      unmatched.add(client.next(Duration.ofNanos(left)));
    }
  }

  Envelope awaitContent(String topic, String content) {
    return awaitMessage(
        topic, e -> e.type().equals("update") && e.data().path("content").asText().equals(content));
  }

  static void atomicWrite(Path f, String content) throws IOException {
    // An ignored name (emacs lock files, .#*), so that only the rename makes a batch.
    Path tmp = Files.writeString(f.resolveSibling(".#" + f.getFileName()), content);
    Files.move(
        tmp,
        f,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  // ---------------------------------------------------------------------------------------

  @Test
  void start_runsEveryCollectorOnce_andTheValueBecomesTheSnapshot() throws IOException {
    Files.writeString(root.resolve("a.txt"), "hello");
    start(FilePipeline.builder(hub).root(root).collector(fileCollector("a", "a.txt")));
    awaitContent("a", "hello");
    assertThat(hub.snapshot("a")).isPresent();
    assertThat(hub.snapshot("a").get().jsonString()).contains("hello").contains("\"snapshot\"");
  }

  @Test
  void change_reRunsOnlyTheCollectorsWhoseGlobsMatch_andPublishes() throws IOException {
    start(
        FilePipeline.builder(hub)
            .root(root)
            .collector(fileCollector("a", "a.txt"))
            .collector(fileCollector("b", "b.txt")));
    awaitContent("a", "<none>");
    awaitContent("b", "<none>");
    Files.writeString(root.resolve("a.txt"), "A1");
    awaitContent("a", "A1");
    await(() -> pipeline.stats().collectors().get("a").runs() >= 2, "a ran again");
    assertThat(pipeline.stats().collectors().get("b").runs()).isEqualTo(1);
  }

  @Test
  void sameValue_isNotPublishedAgain() throws IOException {
    Path a = Files.writeString(root.resolve("a.txt"), "same");
    start(FilePipeline.builder(hub).root(root).collector(fileCollector("a", "a.txt")));
    awaitContent("a", "same");
    // Saved atomically, so that no run can read a half-written file and publish that.
    atomicWrite(a, "same"); // rewritten, same content
    await(() -> pipeline.stats().collectors().get("a").unchanged() >= 1, "an unchanged run");
    atomicWrite(a, "other");
    awaitContent("a", "other");
    await(() -> pipeline.stats().collectors().get("a").published() >= 2, "counted");
    assertThat(pipeline.stats().collectors().get("a").published()).isEqualTo(2);
  }

  @Test
  void collectorThatThrows_publishesAnErrorState_andOthersGoOn() throws IOException {
    Path bad = Files.writeString(root.resolve("bad.txt"), "ok");
    Collector<String> fragile =
        Collector.of(
            "fragile",
            List.of("bad.txt"),
            ctx -> {
              String s = ctx.readString(ctx.resolve("bad.txt"));
              if (s.startsWith("boom")) {
                throw new IllegalStateException("cannot parse: " + s);
              }
              return s;
            });
    start(
        FilePipeline.builder(hub)
            .root(root)
            .collector(fragile)
            .collector(fileCollector("a", "a.txt")));
    awaitMessage("fragile", e -> e.type().equals("update"));
    Files.writeString(bad, "boom!");
    Envelope err = awaitMessage("fragile", e -> e.type().equals(FilePipeline.ERROR_TYPE));
    assertThat(err.data().path("error").asText()).isEqualTo("java.lang.IllegalStateException");
    assertThat(err.data().path("message").asText()).isEqualTo("cannot parse: boom!");
    assertThat(hub.snapshot("fragile").get().jsonString()).contains("cannot parse");
    CollectorStats s = pipeline.stats().collectors().get("fragile");
    assertThat(s.failures()).isEqualTo(1);
    assertThat(s.lastError()).contains("cannot parse");

    Files.writeString(root.resolve("a.txt"), "still works");
    awaitContent("a", "still works");

    Files.writeString(bad, "fixed");
    awaitMessage("fragile", e -> e.type().equals("update") && e.data().asText().equals("fixed"));
    assertThat(pipeline.stats().collectors().get("fragile").lastError()).isNull();
  }

  @Test
  void collectors_neverRunOnTheWatcherThread() throws IOException {
    List<String> threads = new CopyOnWriteArrayList<>();
    start(
        FilePipeline.builder(hub)
            .root(root)
            .collector(
                Collector.of(
                    "t",
                    List.of("*.txt"),
                    ctx -> {
                      threads.add(Thread.currentThread().getName());
                      return ctx.changes().size();
                    })));
    Files.writeString(root.resolve("x.txt"), "x");
    await(() -> threads.size() >= 2, "two runs");
    assertThat(threads).allMatch(n -> n.startsWith("watchcast-collect-"));
  }

  @Test
  void changesDuringARun_causeExactlyOneMoreRun_neverTwoAtOnce() throws Exception {
    Path f = Files.writeString(root.resolve("f.txt"), "0");
    CountDownLatch inRun = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger concurrent = new AtomicInteger();
    AtomicInteger maxConcurrent = new AtomicInteger();
    Collector<String> slow =
        Collector.of(
            "slow",
            List.of("f.txt"),
            ctx -> {
              maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
              try {
                if (!ctx.initial() && inRun.getCount() > 0) {
                  inRun.countDown();
                  release.await(10, TimeUnit.SECONDS);
                }
                return ctx.readString(ctx.resolve("f.txt"));
              } finally {
                concurrent.decrementAndGet();
              }
            });
    start(FilePipeline.builder(hub).root(root).collector(slow));
    awaitMessage("slow", e -> e.data().asText().equals("0"));
    // Atomic saves: one event each, so that a loaded machine cannot split a write in two batches.
    atomicWrite(f, "1");
    assertThat(inRun.await(10, TimeUnit.SECONDS)).isTrue();
    for (int i = 2; i <= 5; i++) {
      long before = pipeline.stats().batches();
      atomicWrite(f, Integer.toString(i));
      final int n = i;
      await(() -> pipeline.stats().batches() > before, "batch " + n);
    }
    release.countDown();
    awaitMessage("slow", e -> e.data().asText().equals("5"));
    // The blocked run may itself read "5"; the re-run follows it (and finds nothing new).
    await(() -> pipeline.stats().collectors().get("slow").reruns() >= 1, "the re-run");
    await(() -> pipeline.stats().collectors().get("slow").runs() >= 3, "three runs");
    CollectorStats s = pipeline.stats().collectors().get("slow");
    assertThat(s.runs()).isEqualTo(3); // initial, the blocked one, one re-run for four batches
    assertThat(s.reruns()).isEqualTo(1);
    assertThat(maxConcurrent).hasValue(1);
  }

  @Test
  void burstOfTenThousandWrites_fewBatches_andTheLastContentIsPublished() throws IOException {
    Path f = Files.writeString(root.resolve("hot.txt"), "0");
    start(FilePipeline.builder(hub).root(root).collector(fileCollector("hot", "hot.txt")));
    awaitContent("hot", "0");
    for (int i = 1; i <= 10_000; i++) {
      Files.writeString(f, Integer.toString(i));
    }
    awaitContent("hot", "10000");
    PipelineStats s = pipeline.stats();
    System.out.printf("burst: %d batches, %s%n", s.batches(), s.collectors().get("hot"));
    assertThat(s.batches()).isLessThan(200);
    assertThat(s.collectors().get("hot").published()).isLessThan(200);
  }

  @Test
  void topicThrottles_areDeclaredOnTheHub() throws IOException {
    start(
        FilePipeline.builder(hub)
            .root(root)
            .collector(
                fileCollector("throttled", "a.txt"),
                TopicOptions.of(Throttle.latest(Duration.ofMillis(250)))));
    assertThat(hub.topic("throttled").get().throttle()).isEqualTo(Throttle.Mode.LATEST);
  }

  @Test
  void stats_keepALatencyHistogramPerStage() throws IOException {
    start(FilePipeline.builder(hub).root(root).collector(fileCollector("a", "a.txt")));
    awaitContent("a", "<none>");
    for (int i = 0; i < 3; i++) {
      Files.writeString(root.resolve("a.txt"), "v" + i);
      awaitContent("a", "v" + i);
    }
    // Recorded just after publish returns, which may be after the client got the message.
    await(() -> pipeline.stats().eventToPublished().count() >= 3, "three samples");
    PipelineStats s = pipeline.stats();
    assertThat(s.eventToBatch().count()).isGreaterThanOrEqualTo(3);
    assertThat(s.eventToPublished().count()).isGreaterThanOrEqualTo(3);
    assertThat(s.batchToCollected().count()).isGreaterThanOrEqualTo(3);
    assertThat(s.collectedToPublished().count()).isGreaterThanOrEqualTo(3);
    // The debounce alone is at least the quiet period.
    assertThat(s.eventToBatch().p50()).isGreaterThanOrEqualTo(Duration.ofMillis(15));
    assertThat(s.eventToPublished().max()).isGreaterThanOrEqualTo(s.eventToBatch().p50());
    assertThat(s.watch().backend()).isEqualTo(WatchOptions.Backend.NATIVE);
  }

  @Test
  void readThroughALinkLeavingTheRoot_isRefused() throws IOException {
    Path outside = Files.writeString(Files.createDirectories(tmp.resolve("out")).resolve("s"), "x");
    Files.createSymbolicLink(root.resolve("link"), outside);
    start(
        FilePipeline.builder(hub)
            .root(root)
            .collector(
                Collector.of("leak", List.of("link"), ctx -> ctx.readString(ctx.resolve("link")))));
    Envelope err = awaitMessage("leak", e -> e.type().equals(FilePipeline.ERROR_TYPE));
    assertThat(err.data().path("message").asText()).contains("outside the root");
  }

  @Test
  void pollingBackend_feedsThePipelineToo() throws IOException {
    start(
        FilePipeline.builder(hub)
            .root(root)
            .watchOptions(
                WatchOptions.defaults()
                    .withBackend(WatchOptions.Backend.POLLING)
                    .withPollInterval(Duration.ofMillis(20)))
            .collector(fileCollector("a", "a.txt")));
    awaitContent("a", "<none>");
    Files.writeString(root.resolve("a.txt"), "polled");
    awaitContent("a", "polled");
  }

  @Test
  void builder_misuse_failsAtOnce() {
    FilePipeline.Builder b = FilePipeline.builder(hub);
    assertThatThrownBy(b::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("root");
    b.root(root);
    assertThatThrownBy(() -> b.root(root)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(b::build).hasMessageContaining("collector");
    b.collector(fileCollector("a", "a.txt"));
    assertThatThrownBy(() -> b.collector(fileCollector("a", "b.txt")))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> b.collector(Collector.of("c", List.of(), ctx -> 1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.collector(Collector.of("bad topic!", List.of("*"), ctx -> 1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void start_twice_fails_andClose_isIdempotent() throws IOException {
    start(FilePipeline.builder(hub).root(root).collector(fileCollector("a", "a.txt")));
    assertThatThrownBy(pipeline::start).isInstanceOf(IllegalStateException.class);
    pipeline.close();
    pipeline.close();
  }
}
