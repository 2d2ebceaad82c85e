package io.watchcast.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Sample content for a newcomer: a few notes, skills and logs, and with {@code --demo} a timer that
 * keeps changing them (log lines every second, a note rewritten by an atomic save every few
 * seconds) so the page is seen to move.
 */
final class DemoContent implements AutoCloseable {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
  private static final List<String> EVENTS =
      List.of(
          "GET /api/orders 200 12ms",
          "GET /api/orders/42 200 4ms",
          "POST /api/orders 201 31ms",
          "cache hit ratio 0.93",
          "GET /health 200 1ms",
          "WARN slow query orders_by_customer 412ms",
          "job reindex finished in 2.1s");

  private final Path dir;
  private final Random random = new Random();
  private ScheduledExecutorService timer;
  private int tick;

  DemoContent(Path dir) {
    this.dir = dir;
  }

  /** Writes the sample files (only those missing). */
  void create() throws IOException {
    write(
        "memory/project.md",
        "# Project notes\n\nWatchcast shows files live in the browser.\n\n"
            + "- edit this file and watch the Memory panel\n- drop a .log file in logs/\n");
    write(
        "memory/todo.json",
        "{\"title\": \"Todo\", \"items\": [\"ship the dashboard\", \"write the docs\"]}\n");
    write(
        "skills/summarize/SKILL.md",
        "---\nname: summarize\ndescription: Turn long text into five bullet points\n---\n\n"
            + "Read the input, keep what matters.\n");
    write(
        "skills/deploy/SKILL.md",
        "---\nname: deploy\ndescription: Roll out a build to staging, then production\n---\n");
    write("skills/deploy/checklist.md", "1. tests green\n2. changelog\n3. tag\n");
    write("logs/app.log", line("server started") + line("listening on :8080"));
  }

  /** Keeps changing the content until closed. */
  void animate() {
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "watchcast-example-demo");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleAtFixedRate(this::step, 1, 1, TimeUnit.SECONDS);
  }

  private void step() {
    try {
      tick++;
      Files.writeString(
          dir.resolve("logs/app.log"),
          line(EVENTS.get(random.nextInt(EVENTS.size()))),
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      if (tick % 5 == 0) {
        // An editor-style atomic save: write a temporary file, then rename it over the note.
        Path tmp = dir.resolve("memory/.status.md.tmp");
        Files.writeString(
            tmp,
            "# Status\n\nLast heartbeat at "
                + LocalTime.now().format(TIME)
                + ", tick "
                + tick
                + ".\n");
        Files.move(
            tmp,
            dir.resolve("memory/status.md"),
            StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException e) {
      System.err.println("demo: " + e);
    }
  }

  private void write(String relative, String content) throws IOException {
    Path file = dir.resolve(relative);
    if (Files.exists(file)) {
      return;
    }
    Files.createDirectories(file.getParent());
    Files.writeString(file, content, StandardCharsets.UTF_8);
  }

  private static String line(String text) {
    return LocalTime.now().format(TIME) + " " + text + "\n";
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
