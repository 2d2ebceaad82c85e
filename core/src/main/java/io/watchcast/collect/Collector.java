package io.watchcast.collect;

import java.util.List;
import java.util.Objects;

/**
 * User code that turns files into the value of one topic: a dashboard's state derived from logs,
 * configs, reports. The {@link FilePipeline} runs it when a file matching one of its {@link
 * #globs()} changes, and publishes what it returns when that differs from what was published last.
 *
 * <p>Threads: {@link #collect} runs on the pipeline's worker executor, never on the watcher's
 * thread, and never twice at once for one collector; it need not be thread-safe unless it shares
 * state with other code.
 *
 * @param <T> the value, serialized with Jackson (records, maps and lists work)
 */
public interface Collector<T> {

  /** The topic its values are published on. */
  String topic();

  /**
   * The files it reads, as {@link io.watchcast.watch.GlobSet globs} relative to the pipeline's root
   * ({@code *.json}, {@code logs/**}{@code /*.log}). A batch with a change of a matching file
   * re-runs it. Not empty.
   */
  List<String> globs();

  /**
   * Computes the value from the files, reading them through {@code context} (cached, and never
   * through a link leading outside the root). Return null to publish nothing this time. A throw is
   * published on the topic as a {@code collector_error} and counted; see {@link FilePipeline}.
   */
  T collect(CollectContext context) throws Exception;

  /** The body of a collector built by {@link #of}. */
  @FunctionalInterface
  interface Body<T> {
    T collect(CollectContext context) throws Exception;
  }

  /** A collector from a topic, its globs and a function. */
  static <T> Collector<T> of(String topic, List<String> globs, Body<T> body) {
    Objects.requireNonNull(topic, "topic");
    List<String> g = List.copyOf(globs);
    Objects.requireNonNull(body, "body");
    return new Collector<>() {
      @Override
      public String topic() {
        return topic;
      }

      @Override
      public List<String> globs() {
        return g;
      }

      @Override
      public T collect(CollectContext context) throws Exception {
        return body.collect(context);
      }

      @Override
      public String toString() {
        return "Collector[" + topic + " " + g + "]";
      }
    };
  }
}
