package io.watchcast.examples;

import io.watchcast.collect.CollectContext;
import io.watchcast.collect.Collector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code skills} topic: a listing of {@code skills/<name>/}, each a folder with a {@code
 * SKILL.md} whose front matter gives a name and a description, with its file count and last change.
 */
final class SkillsCollector implements Collector<SkillsCollector.Skills> {

  record Skills(List<Skill> skills) {}

  record Skill(String name, String description, int files, long bytes, long modified) {}

  @Override
  public String topic() {
    return "skills";
  }

  @Override
  public List<String> globs() {
    return List.of("skills/**");
  }

  @Override
  public Skills collect(CollectContext context) throws IOException {
    Path skillsDir = context.root().resolve("skills");
    Map<String, long[]> perSkill = new TreeMap<>(); // name -> files, bytes, newest mtime
    for (Path file : context.list("skills/**")) {
      Path rel = skillsDir.relativize(file);
      if (rel.getNameCount() < 2) {
        continue; // a loose file, not inside a skill folder
      }
      long[] acc = perSkill.computeIfAbsent(rel.getName(0).toString(), k -> new long[3]);
      try {
        acc[0]++;
        acc[1] += Files.size(file);
        acc[2] = Math.max(acc[2], Files.getLastModifiedTime(file).toMillis());
      } catch (IOException gone) {
        acc[0]--;
      }
    }
    List<Skill> skills = new ArrayList<>();
    for (Map.Entry<String, long[]> e : perSkill.entrySet()) {
      String description = "";
      String title = e.getKey();
      Path skillMd = skillsDir.resolve(e.getKey()).resolve("SKILL.md");
      if (Files.isRegularFile(skillMd)) {
        Map<String, String> front = frontMatter(context.readString(skillMd));
        title = front.getOrDefault("name", title);
        description = front.getOrDefault("description", "");
      }
      long[] acc = e.getValue();
      skills.add(new Skill(title, description, (int) acc[0], acc[1], acc[2]));
    }
    return new Skills(skills);
  }

  /** The {@code key: value} lines between the leading {@code ---} fences of a Markdown file. */
  static Map<String, String> frontMatter(String text) {
    Map<String, String> out = new TreeMap<>();
    String[] lines = text.split("\r?\n");
    if (lines.length == 0 || !lines[0].trim().equals("---")) {
      return out;
    }
    for (int i = 1; i < lines.length && !lines[i].trim().equals("---"); i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0) {
        out.put(lines[i].substring(0, colon).trim(), lines[i].substring(colon + 1).trim());
      }
    }
    return out;
  }
}
