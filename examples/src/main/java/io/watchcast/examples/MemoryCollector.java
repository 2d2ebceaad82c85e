package io.watchcast.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watchcast.collect.CollectContext;
import io.watchcast.collect.Collector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The {@code memory} topic: the notes an agent or a service keeps as Markdown and JSON files under
 * {@code memory/}. A template for your own collectors: read through the context (cached by mtime),
 * return a plain value (a record), and let the pipeline publish it when it changes.
 */
final class MemoryCollector implements Collector<MemoryCollector.Notes> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_TEXT = 600;

  /** What the page shows: the newest notes first. */
  record Notes(List<Note> notes) {}

  record Note(String name, String kind, String title, String text, long modified, long size) {}

  @Override
  public String topic() {
    return "memory";
  }

  @Override
  public List<String> globs() {
    return List.of("memory/**/*.md", "memory/*.md", "memory/**/*.json", "memory/*.json");
  }

  @Override
  public Notes collect(CollectContext context) throws IOException {
    List<Note> notes = new ArrayList<>();
    for (Path file : context.list("memory/**")) {
      String name = context.root().resolve("memory").relativize(file).toString();
      boolean markdown = name.endsWith(".md");
      if (!markdown && !name.endsWith(".json")) {
        continue;
      }
      String text;
      try {
        text = context.readString(file);
      } catch (IOException gone) {
        continue; // deleted between listing and reading: the next batch will say so
      }
      String title = markdown ? markdownTitle(text, name) : jsonTitle(text, name);
      notes.add(
          new Note(
              name,
              markdown ? "markdown" : "json",
              title,
              shorten(markdown ? withoutTitle(text) : prettyJson(text)),
              Files.getLastModifiedTime(file).toMillis(),
              text.length()));
    }
    notes.sort(Comparator.comparingLong(Note::modified).reversed().thenComparing(Note::name));
    return new Notes(notes);
  }

  private static String markdownTitle(String text, String fallback) {
    for (String line : text.split("\n", 20)) {
      if (line.startsWith("# ")) {
        return line.substring(2).trim();
      }
    }
    return fallback;
  }

  /** The text without its leading "# Title" line, which the page shows as the title. */
  private static String withoutTitle(String text) {
    String trimmed = text.stripLeading();
    if (!trimmed.startsWith("# ")) {
      return text;
    }
    int end = trimmed.indexOf('\n');
    return end < 0 ? "" : trimmed.substring(end + 1).strip();
  }

  private static String jsonTitle(String text, String fallback) {
    try {
      JsonNode node = JSON.readTree(text);
      if (node != null && node.hasNonNull("title")) {
        return node.get("title").asText();
      }
    } catch (IOException invalid) {
      return fallback + " (invalid JSON)";
    }
    return fallback;
  }

  private static String prettyJson(String text) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(JSON.readTree(text));
    } catch (IOException invalid) {
      return text;
    }
  }

  private static String shorten(String s) {
    return s.length() <= MAX_TEXT ? s : s.substring(0, MAX_TEXT) + "…";
  }
}
