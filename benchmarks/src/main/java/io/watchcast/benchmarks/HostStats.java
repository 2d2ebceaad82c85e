package io.watchcast.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/**
 * The message the benchmarks publish: the kind of state object a dashboard topic carries (one
 * host's load, memory and disks). Serializes to about 200 bytes of JSON with a plain {@link
 * ObjectMapper}; {@link #sample()} checks that.
 */
public record HostStats(
    String host,
    double cpu,
    double[] load,
    long memUsed,
    long memTotal,
    long uptimeSeconds,
    int processes,
    List<Disk> disks) {

  /** One mounted file system. */
  public record Disk(String mount, long used, long total) {}

  /** The benchmarks' message; fails if its JSON is not about 200 bytes. */
  public static HostStats sample() {
    HostStats stats =
        new HostStats(
            "build-agent-07.example.internal",
            45.2,
            new double[] {1.25, 0.98, 0.75},
            12_884_901_888L,
            25_769_803_776L,
            1_209_600,
            412,
            List.of(new Disk("/", 41_234_567_890L, 107_374_182_400L)));
    int size = jsonSize(stats);
    if (size < 170 || size > 240) {
      throw new IllegalStateException("sample should be about 200 bytes of JSON, is " + size);
    }
    return stats;
  }

  static int jsonSize(Object value) {
    try {
      return new ObjectMapper().writeValueAsBytes(value).length;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
