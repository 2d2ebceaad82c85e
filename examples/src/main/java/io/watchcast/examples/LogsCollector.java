package io.watchcast.examples;

import io.watchcast.collect.CollectContext;
import io.watchcast.collect.Collector;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code logs} topic: new lines appended to {@code logs/*.log} files, as events. Declared with
 * a {@code batch} throttle, so a burst of lines reaches the page as one message.
 *
 * <p>It keeps the read offset of each file between runs (the pipeline never runs a collector twice
 * at once, so plain fields are enough). The first run returns the last lines of each file; a file
 * that shrank (rotated or truncated) is read again from its start.
 */
final class LogsCollector implements Collector<List<LogsCollector.Chunk>> {
  static final int INITIAL_LINES = 20;
  static final int MAX_BYTES_PER_RUN = 64 * 1024;

  /**
   * New lines of one file, starting at byte {@code offset}. The offset also keeps two chunks of
   * identical lines distinct, since the pipeline publishes only values that changed.
   */
  record Chunk(String file, long offset, List<String> lines) {}

  private final Map<Path, Long> offsets = new HashMap<>();

  @Override
  public String topic() {
    return "logs";
  }

  @Override
  public List<String> globs() {
    return List.of("logs/*.log", "logs/**/*.log");
  }

  @Override
  public List<Chunk> collect(CollectContext context) throws IOException {
    List<Chunk> chunks = new ArrayList<>();
    Map<Path, Long> seen = new HashMap<>();
    for (Path file : context.list("logs/**")) {
      if (!file.toString().endsWith(".log")) {
        continue;
      }
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
        long length = raf.length();
        Long known = offsets.get(file);
        long start = known == null || known > length ? 0 : known;
        if (known == null) {
          start = Math.max(0, length - MAX_BYTES_PER_RUN);
        }
        start = Math.max(start, length - MAX_BYTES_PER_RUN);
        byte[] bytes = new byte[(int) (length - start)];
        raf.seek(start);
        raf.readFully(bytes);
        int end = lastNewline(bytes); // leave a partial last line for the next run
        seen.put(file, start + end);
        if (end == 0) {
          continue;
        }
        List<String> lines =
            new ArrayList<>(
                Arrays.asList(new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n")));
        if (known == null && lines.size() > INITIAL_LINES) {
          lines = lines.subList(lines.size() - INITIAL_LINES, lines.size());
        }
        String name = context.root().resolve("logs").relativize(file).toString();
        chunks.add(new Chunk(name, start, List.copyOf(lines)));
      } catch (IOException gone) {
        // deleted between listing and reading
      }
    }
    offsets.keySet().retainAll(seen.keySet());
    offsets.putAll(seen);
    return chunks.isEmpty() ? null : chunks; // null: nothing new, nothing published
  }

  private static int lastNewline(byte[] bytes) {
    for (int i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i] == '\n') {
        return i + 1;
      }
    }
    return 0;
  }
}
