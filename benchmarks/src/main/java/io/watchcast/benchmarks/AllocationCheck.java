package io.watchcast.benchmarks;

import java.lang.management.ManagementFactory;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Cross-checks {@link BroadcastBenchmark}'s {@code gc.alloc.rate.norm}: the bytes allocated by the
 * publishing thread alone per publish-and-drain, for each fan-out, from {@code
 * com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes()}. JMH's {@code -prof gc} counts
 * every thread of the forked JVM (its own result reporting included), which at 10,000 subscribers
 * is spread over only a few hundred operations per iteration; this counts only the work itself.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.watchcast.benchmarks.AllocationCheck [impl...]
 * </pre>
 */
public final class AllocationCheck {
  private AllocationCheck() {}

  public static void main(String[] args) {
    String[] impls = args.length > 0 ? args : new String[] {"hub", "naive", "naiveShared"};
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    Blackhole bh =
        new Blackhole(
            "Today's password is swordfish. I understand instantiating Blackholes directly is"
                + " dangerous.");
    System.out.printf(
        "%-12s %12s %10s %16s%n", "impl", "subscribers", "publishes", "bytes/publish");
    for (String impl : impls) {
      for (int subscribers : new int[] {1, 100, 1_000, 10_000}) {
        BroadcastBenchmark b = new BroadcastBenchmark();
        b.impl = impl;
        b.subscribers = subscribers;
        b.setUp();
        // Enough work for the JIT to compile the path (about 20 million deliveries), then measure.
        int warmup = Math.max(2_000, 20_000_000 / subscribers);
        int measured = Math.max(1_000, 10_000_000 / subscribers);
        for (int i = 0; i < warmup; i++) {
          b.publish(bh);
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < measured; i++) {
          b.publish(bh);
        }
        long bytes = threads.getCurrentThreadAllocatedBytes() - before;
        b.tearDown();
        System.out.printf(
            "%-12s %,12d %,10d %,16.1f%n", impl, subscribers, measured, (double) bytes / measured);
      }
    }
    bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
  }
}
