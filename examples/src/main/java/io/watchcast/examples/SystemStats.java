package io.watchcast.examples;

import io.watchcast.ConnectionManager;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The {@code stats} topic: CPU, memory and JVM heap, published every second. Not every source is a
 * file: this is how an in-process value joins the same dashboard, with one {@code publish} call.
 * The topic is declared {@code latest}, so a page that reads slowly just gets the newest sample.
 */
final class SystemStats implements AutoCloseable {
  private static final double MB = 1024 * 1024;

  /** One sample. {@code cpu} is the machine's load from 0 to 1, or -1 when unknown. */
  record Sample(
      double cpu,
      double load,
      long memUsedMb,
      long memTotalMb,
      long heapUsedMb,
      long heapMaxMb,
      int threads,
      long uptimeSeconds) {}

  private final ConnectionManager hub;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "watchcast-example-stats");
            t.setDaemon(true);
            return t;
          });

  SystemStats(ConnectionManager hub) {
    this.hub = hub;
  }

  void start() {
    timer.scheduleAtFixedRate(() -> hub.publish("stats", sample()), 0, 1, TimeUnit.SECONDS);
  }

  static Sample sample() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    double cpu = -1;
    long total = 0;
    long free = 0;
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      cpu = sun.getCpuLoad();
      total = sun.getTotalMemorySize();
      free = sun.getFreeMemorySize();
    }
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    return new Sample(
        cpu,
        os.getSystemLoadAverage(),
        Math.round((total - free) / MB),
        Math.round(total / MB),
        Math.round(heap.getUsed() / MB),
        Math.round(heap.getMax() / MB),
        ManagementFactory.getThreadMXBean().getThreadCount(),
        ManagementFactory.getRuntimeMXBean().getUptime() / 1000);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
