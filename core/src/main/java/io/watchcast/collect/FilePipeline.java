package io.watchcast.collect;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.watchcast.ConnectionManager;
import io.watchcast.RawJson;
import io.watchcast.TopicOptions;
import io.watchcast.Topics;
import io.watchcast.cache.MtimeCache;
import io.watchcast.watch.ChangeBatch;
import io.watchcast.watch.FileChange;
import io.watchcast.watch.FileWatcher;
import io.watchcast.watch.GlobSet;
import io.watchcast.watch.WatchHandle;
import io.watchcast.watch.WatchListener;
import io.watchcast.watch.WatchOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files to live topics: watches a root, re-runs the {@link Collector}s whose files changed, and
 * publishes their values on a {@link ConnectionManager}. Thread-safe.
 *
 * <pre>{@code
 * FilePipeline pipeline = FilePipeline.builder(hub)
 *     .root(Path.of("data"))
 *     .collector(new BuildStatusCollector(), TopicOptions.of(Throttle.latest(Duration.ofMillis(250))))
 *     .collector(Collector.of("todo", List.of("*.md"), ctx -> countTodos(ctx)))
 *     .build();
 * pipeline.start();
 * ...
 * pipeline.close();
 * }</pre>
 *
 * <p>The flow: a watcher batch (on the watcher's thread) invalidates the cached content of the
 * changed files and picks the collectors with a glob matching a changed path; each of them is run
 * on the worker executor, at most one run in flight per collector (changes that arrive during a run
 * cause one more run afterwards, with all of them). A value is serialized with the pipeline's
 * ObjectMapper and published as an {@code update} only when its JSON differs from the last one
 * published on the topic; it becomes the topic's snapshot. At start every collector runs once.
 *
 * <p>Errors: a collector that throws (or whose value cannot be serialized) leaves the others
 * running. Its topic gets a message of type {@value #ERROR_TYPE} whose data is {@code
 * {"collector":..,"error":"java.io.IOException","message":".."}} (published once per distinct
 * error, and it becomes the snapshot, so a client joining later sees the error state), and the
 * failure is counted in {@link CollectorStats#failures()} and logged. The next successful run
 * publishes its value again.
 *
 * <p>Threads: the watcher's thread (one per pipeline) only invalidates and schedules; collectors
 * run on the executor (default: {@value #DEFAULT_WORKERS} daemon threads named {@code
 * watchcast-collect-N}, owned and stopped by {@link #close()}).
 */
public final class FilePipeline implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FilePipeline.class);

  /** The envelope type of a collector's error state. */
  public static final String ERROR_TYPE = "collector_error";

  /** Worker threads of the default executor. */
  public static final int DEFAULT_WORKERS = 2;

  /** Entries of the default content cache. */
  public static final long DEFAULT_CONTENT_CACHE_SIZE = 1_000;

  private final ConnectionManager hub;
  private final Path root;
  private final WatchOptions watchOptions;
  private final FileWatcher watcher;
  private final ObjectMapper mapper;
  private final Executor givenExecutor;
  private final MtimeCache<byte[]> contentCache;
  private final List<MtimeCache<?>> caches;
  private final Map<String, TopicOptions> topicOptions;
  private final List<Runner> runners = new ArrayList<>();
  final GlobSet excluded;

  private final Object lifecycle = new Object();
  private volatile boolean started;
  private volatile boolean closed;
  private volatile WatchHandle watch;
  private volatile Executor executor;
  private ExecutorService ownedExecutor;

  private final LongAdder batches = new LongAdder();
  private final LongAdder changes = new LongAdder();
  final LatencyHistogram eventToBatch = new LatencyHistogram();
  final LatencyHistogram batchToCollected = new LatencyHistogram();
  final LatencyHistogram collectedToPublished = new LatencyHistogram();
  final LatencyHistogram eventToPublished = new LatencyHistogram();

  private FilePipeline(Builder b) {
    this.hub = b.hub;
    this.root = b.root.toAbsolutePath().normalize();
    this.watchOptions = b.watchOptions;
    this.watcher = b.watcher;
    this.mapper = b.mapper;
    this.givenExecutor = b.executor;
    this.contentCache =
        MtimeCache.builder().maximumSize(b.contentCacheSize).build(Files::readAllBytes);
    this.caches = List.copyOf(b.caches);
    this.topicOptions = new LinkedHashMap<>(b.topicOptions);
    for (Collector<?> c : b.collectors) {
      runners.add(new Runner(c));
    }
    List<String> ex = new ArrayList<>(watchOptions.exclude());
    if (watchOptions.defaultIgnores()) {
      ex.addAll(WatchOptions.DEFAULT_IGNORES);
    }
    this.excluded = GlobSet.of(ex);
  }

  /** A builder that publishes on {@code hub}; the hub is not closed by the pipeline. */
  public static Builder builder(ConnectionManager hub) {
    return new Builder(Objects.requireNonNull(hub, "hub"));
  }

  /**
   * Declares the topics, starts the watch and runs every collector once. Returns once the watch is
   * running; the initial runs go on on the executor.
   *
   * @throws IOException if the root cannot be watched (see {@link FileWatcher#watch})
   * @throws IllegalStateException if started twice, or closed
   */
  public void start() throws IOException {
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("pipeline is closed");
      }
      if (started) {
        throw new IllegalStateException("pipeline already started");
      }
      started = true;
      for (Map.Entry<String, TopicOptions> e : topicOptions.entrySet()) {
        hub.declareTopic(e.getKey(), e.getValue());
      }
      if (givenExecutor != null) {
        executor = givenExecutor;
      } else {
        ownedExecutor = Executors.newFixedThreadPool(DEFAULT_WORKERS, daemonThreads());
        executor = ownedExecutor;
      }
      try {
        watch = watcher.watch(root, watchOptions, new Listener());
      } catch (IOException | RuntimeException e) {
        shutdownExecutor();
        throw e;
      }
    }
    for (Runner r : runners) {
      r.submit(List.of(), 0, 0, true);
    }
  }

  private static ThreadFactory daemonThreads() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "watchcast-collect-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** The watched root, absolute and normalized. */
  public Path root() {
    return root;
  }

  /** Counters and latency histograms. */
  public PipelineStats stats() {
    Map<String, CollectorStats> per = new LinkedHashMap<>();
    for (Runner r : runners) {
      per.put(r.topic, r.stats());
    }
    WatchHandle w = watch;
    return new PipelineStats(
        per,
        batches.sum(),
        changes.sum(),
        eventToBatch.snapshot(),
        batchToCollected.snapshot(),
        collectedToPublished.snapshot(),
        eventToPublished.snapshot(),
        w == null ? null : w.stats(),
        contentCache.stats());
  }

  /**
   * Stops the watch and the owned executor (waiting up to 5 s for running collectors). Idempotent.
   * Nothing is published after it returns, except by a collector still running past that wait.
   */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
    }
    WatchHandle w = watch;
    if (w != null) {
      w.close();
    }
    shutdownExecutor();
  }

  private void shutdownExecutor() {
    ExecutorService owned = ownedExecutor;
    if (owned != null) {
      owned.shutdown();
      try {
        if (!owned.awaitTermination(5, TimeUnit.SECONDS)) {
          owned.shutdownNow();
        }
      } catch (InterruptedException e) {
        owned.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Runs on the watcher's thread: invalidate and schedule, nothing more. */
  private final class Listener implements WatchListener {
    @Override
    public void onChanges(ChangeBatch batch) {
      long delivered = System.nanoTime();
      batches.increment();
      changes.add(batch.size());
      eventToBatch.recordNanos(delivered - batch.firstEventNanos());
      contentCache.invalidate(batch);
      for (MtimeCache<?> c : caches) {
        c.invalidate(batch);
      }
      for (Runner r : runners) {
        List<FileChange> mine = null;
        for (FileChange c : batch.changes()) {
          if (r.globs.matches(root, c.path())) {
            if (mine == null) {
              mine = new ArrayList<>();
            }
            mine.add(c);
          }
        }
        if (mine != null) {
          r.submit(mine, batch.firstEventNanos(), delivered, false);
        }
      }
    }

    @Override
    public void onError(Exception error) {
      log.error("The watch of {} failed; its topics will not be updated any more", root, error);
    }
  }

  /** One collector: its run state (guarded by this) and its last published JSON. */
  private final class Runner {
    final Collector<?> collector;
    final String topic;
    final GlobSet globs;

    // Guarded by this.
    private boolean running;
    private boolean rerun;
    private boolean pendingInitial;
    private final Map<Path, FileChange.Kind> pendingChanges = new LinkedHashMap<>();
    private long pendingSeen;
    private long pendingDelivered;

    // Touched by one run at a time.
    private byte[] lastJson;
    private String lastType;

    final LongAdder runs = new LongAdder();
    final LongAdder published = new LongAdder();
    final LongAdder unchanged = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder reruns = new LongAdder();
    volatile String lastError;

    Runner(Collector<?> collector) {
      this.collector = collector;
      this.topic = collector.topic();
      this.globs = GlobSet.of(collector.globs());
    }

    void submit(List<FileChange> changes, long seen, long delivered, boolean initial) {
      synchronized (this) {
        for (FileChange c : changes) {
          pendingChanges.merge(c.path(), c.kind(), Runner::mergeKinds);
        }
        if (seen != 0 && (pendingSeen == 0 || seen - pendingSeen < 0)) {
          pendingSeen = seen;
          pendingDelivered = delivered;
        }
        pendingInitial |= initial;
        if (running) {
          rerun = true;
          return;
        }
        running = true;
      }
      dispatch();
    }

    private static FileChange.Kind mergeKinds(FileChange.Kind a, FileChange.Kind b) {
      if (a == FileChange.Kind.CREATED && b != FileChange.Kind.DELETED) {
        return FileChange.Kind.CREATED;
      }
      if (a == FileChange.Kind.DELETED && b == FileChange.Kind.CREATED) {
        return FileChange.Kind.MODIFIED;
      }
      return b;
    }

    private void dispatch() {
      if (closed) {
        synchronized (this) {
          running = false;
        }
        return;
      }
      try {
        executor.execute(this::runOnce);
      } catch (RejectedExecutionException e) {
        synchronized (this) {
          running = false;
        }
        if (!closed) {
          log.error("Executor refused the collector of '{}'", topic, e);
        }
      }
    }

    private void runOnce() {
      List<FileChange> changes;
      long seen;
      long delivered;
      boolean initial;
      synchronized (this) {
        changes = new ArrayList<>(pendingChanges.size());
        for (Map.Entry<Path, FileChange.Kind> e : pendingChanges.entrySet()) {
          changes.add(new FileChange(e.getKey(), e.getValue()));
        }
        pendingChanges.clear();
        seen = pendingSeen;
        delivered = pendingDelivered;
        initial = pendingInitial;
        pendingSeen = 0;
        pendingDelivered = 0;
        pendingInitial = false;
        rerun = false;
      }
      try {
        if (!closed) {
          collectAndPublish(List.copyOf(changes), seen, delivered, initial);
        }
      } catch (RuntimeException | Error e) {
        log.error("Pipeline failure running the collector of '{}'", topic, e);
      } finally {
        boolean again;
        synchronized (this) {
          again = rerun && !closed;
          running = again;
        }
        if (again) {
          reruns.increment();
          dispatch();
        }
      }
    }

    private void collectAndPublish(
        List<FileChange> changes, long seen, long delivered, boolean initial) {
      runs.increment();
      String type = "update";
      byte[] json;
      try {
        Object value = collector.collect(new Context(changes, initial));
        if (value == null) {
          return;
        }
        json =
            value instanceof RawJson ? ((RawJson) value).utf8() : mapper.writeValueAsBytes(value);
        lastError = null;
      } catch (Exception | Error e) {
        if (e instanceof VirtualMachineError) {
          throw (VirtualMachineError) e;
        }
        failures.increment();
        String message = String.valueOf(e.getMessage());
        lastError = e.getClass().getName() + ": " + message;
        log.warn("Collector of '{}' failed; publishing its error state", topic, e);
        type = ERROR_TYPE;
        Map<String, String> data = new LinkedHashMap<>();
        data.put("collector", String.valueOf(collector));
        data.put("error", e.getClass().getName());
        data.put("message", message);
        try {
          json = mapper.writeValueAsBytes(data);
        } catch (IOException x) {
          return;
        }
      }
      long collected = System.nanoTime();
      if (delivered != 0) {
        batchToCollected.recordNanos(collected - delivered);
      }
      if (type.equals(lastType) && Arrays.equals(json, lastJson)) {
        unchanged.increment();
        return;
      }
      if (closed) {
        return;
      }
      if (hub.publish(topic, type, new RawJson(json))) {
        lastJson = json;
        lastType = type;
        published.increment();
        long done = System.nanoTime();
        collectedToPublished.recordNanos(done - collected);
        if (seen != 0) {
          eventToPublished.recordNanos(done - seen);
        }
      }
    }

    CollectorStats stats() {
      return new CollectorStats(
          topic,
          runs.sum(),
          published.sum(),
          unchanged.sum(),
          failures.sum(),
          reruns.sum(),
          lastError);
    }
  }

  /** The context of one run. */
  private final class Context implements CollectContext {
    private final List<FileChange> changes;
    private final boolean initial;

    Context(List<FileChange> changes, boolean initial) {
      this.changes = changes;
      this.initial = initial;
    }

    @Override
    public Path root() {
      return root;
    }

    @Override
    public boolean initial() {
      return initial;
    }

    @Override
    public List<FileChange> changes() {
      return changes;
    }

    @Override
    public Path resolve(String relative) {
      Path p = root.resolve(relative).normalize();
      if (!p.startsWith(root)) {
        throw new IllegalArgumentException("'" + relative + "' is outside the root " + root);
      }
      return p;
    }

    @Override
    public byte[] readBytes(Path path) throws IOException {
      return read(path, contentCache).clone();
    }

    @Override
    public String readString(Path path) throws IOException {
      return new String(read(path, contentCache), java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public <V> V read(Path path, MtimeCache<V> cache) throws IOException {
      return cache.get(inside(path));
    }

    private Path inside(Path path) throws IOException {
      Path p = root.resolve(path).toAbsolutePath().normalize();
      if (!p.startsWith(root)) {
        throw new IOException(p + " is outside the root " + root);
      }
      Path real = p.toRealPath();
      if (!real.startsWith(root.toRealPath())) {
        throw new IOException(
            p + " leads outside the root through a symbolic link (to " + real + "); not read");
      }
      return p;
    }

    @Override
    public List<Path> list(String glob) throws IOException {
      GlobSet g = GlobSet.of(glob);
      List<Path> out = new ArrayList<>();
      Files.walkFileTree(
          root,
          new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(
                Path d, java.nio.file.attribute.BasicFileAttributes a) {
              return !d.equals(root) && excluded.matches(root, d)
                  ? java.nio.file.FileVisitResult.SKIP_SUBTREE
                  : java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(
                Path f, java.nio.file.attribute.BasicFileAttributes a) {
              if (a.isRegularFile() && !excluded.matches(root, f) && g.matches(root, f)) {
                out.add(f);
              }
              return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path f, IOException e) {
              return java.nio.file.FileVisitResult.CONTINUE;
            }
          });
      out.sort(null);
      return out;
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Builds a {@link FilePipeline}. Not thread-safe. */
  public static final class Builder {
    private final ConnectionManager hub;
    private Path root;
    private WatchOptions watchOptions = WatchOptions.defaults();
    private FileWatcher watcher = FileWatcher.create();
    private ObjectMapper mapper;
    private Executor executor;
    private long contentCacheSize = DEFAULT_CONTENT_CACHE_SIZE;
    private final List<MtimeCache<?>> caches = new ArrayList<>();
    private final List<Collector<?>> collectors = new ArrayList<>();
    private final Map<String, TopicOptions> topicOptions = new LinkedHashMap<>();

    private Builder(ConnectionManager hub) {
      this.hub = hub;
    }

    /** The directory to watch (required). */
    public Builder root(Path root) {
      Objects.requireNonNull(root, "root");
      if (this.root != null) {
        throw new IllegalStateException("root was already set to " + this.root);
      }
      this.root = root;
      return this;
    }

    /** How the root is watched. Default {@link WatchOptions#defaults()}. */
    public Builder watchOptions(WatchOptions options) {
      this.watchOptions = Objects.requireNonNull(options, "options");
      return this;
    }

    /** The watcher. Default {@link FileWatcher#create()}. */
    public Builder watcher(FileWatcher watcher) {
      this.watcher = Objects.requireNonNull(watcher, "watcher");
      return this;
    }

    /** Serializes collected values. Default: a plain {@code new ObjectMapper()}. */
    public Builder objectMapper(ObjectMapper mapper) {
      this.mapper = Objects.requireNonNull(mapper, "mapper");
      return this;
    }

    /**
     * Runs the collectors; the caller owns it and shuts it down. Default: {@value
     * FilePipeline#DEFAULT_WORKERS} daemon threads owned by the pipeline.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Entries of the content cache behind {@link CollectContext#readBytes} (default 1,000). */
    public Builder contentCacheSize(long entries) {
      if (entries < 1) {
        throw new IllegalArgumentException("contentCacheSize must be at least 1, was " + entries);
      }
      this.contentCacheSize = entries;
      return this;
    }

    /** A cache of the collectors' own, invalidated by every batch like the content cache. */
    public Builder cache(MtimeCache<?> cache) {
      caches.add(Objects.requireNonNull(cache, "cache"));
      return this;
    }

    /** Adds a collector on a topic with the hub's default options (or the topic's declared). */
    public Builder collector(Collector<?> collector) {
      return add(collector, null);
    }

    /** Adds a collector and declares its topic with {@code options} (throttle, history). */
    public Builder collector(Collector<?> collector, TopicOptions options) {
      return add(collector, Objects.requireNonNull(options, "options"));
    }

    private Builder add(Collector<?> collector, TopicOptions options) {
      Objects.requireNonNull(collector, "collector");
      String topic = Topics.requireValid(collector.topic());
      List<String> globs = Objects.requireNonNull(collector.globs(), "collector.globs()");
      if (globs.isEmpty()) {
        throw new IllegalArgumentException(
            "collector of '" + topic + "' reads no files: give it at least one glob (\"**\")");
      }
      GlobSet.of(globs);
      for (Collector<?> c : collectors) {
        if (c.topic().equals(topic)) {
          throw new IllegalStateException("two collectors publish on '" + topic + "'");
        }
      }
      collectors.add(collector);
      if (options != null) {
        topicOptions.put(topic, options);
      }
      return this;
    }

    /**
     * @throws IllegalStateException without a root or without a collector
     */
    public FilePipeline build() {
      if (root == null) {
        throw new IllegalStateException("root is required: call root(path)");
      }
      if (collectors.isEmpty()) {
        throw new IllegalStateException("no collector: add one with collector(...)");
      }
      if (mapper == null) {
        mapper = new ObjectMapper();
      }
      return new FilePipeline(this);
    }
  }
}
