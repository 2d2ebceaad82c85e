package io.watchcast.watch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What a watch knows of its tree: every accepted file, link and directory with the attributes last
 * seen. Not thread-safe: owned by the watch's thread (and by the starting thread before that).
 */
final class KnownTree {

  /** The attributes that tell whether a path changed. */
  record Entry(boolean dir, boolean link, FileTime mtime, long size, Object fileKey) {
    boolean sameAs(Entry o) {
      return dir == o.dir
          && link == o.link
          && size == o.size
          && mtime.equals(o.mtime)
          && Objects.equals(fileKey, o.fileKey);
    }

    static Entry of(BasicFileAttributes a) {
      return new Entry(
          a.isDirectory(), a.isSymbolicLink(), a.lastModifiedTime(), a.size(), a.fileKey());
    }
  }

  private final Map<Path, Entry> entries = new HashMap<>();
  private final Map<Path, Set<Path>> children = new HashMap<>();
  private int files;

  /** The path's attributes now, without following a link; null if it is gone or unreadable. */
  static Entry stat(Path p) {
    try {
      return Entry.of(
          Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
    } catch (IOException e) {
      return null;
    }
  }

  Entry get(Path p) {
    return entries.get(p);
  }

  int files() {
    return files;
  }

  void put(Path p, Entry e) {
    Entry old = entries.put(p, e);
    if (old == null) {
      Path parent = p.getParent();
      if (parent != null) {
        children.computeIfAbsent(parent, k -> new LinkedHashSet<>()).add(p);
      }
    } else if (!old.dir()) {
      files--;
    }
    if (!e.dir()) {
      files++;
    }
  }

  /** Removes {@code p} only (call {@link #subtree} first for a directory). */
  Entry remove(Path p) {
    Entry old = entries.remove(p);
    if (old == null) {
      return null;
    }
    if (!old.dir()) {
      files--;
    }
    Path parent = p.getParent();
    if (parent != null) {
      Set<Path> siblings = children.get(parent);
      if (siblings != null) {
        siblings.remove(p);
        if (siblings.isEmpty()) {
          children.remove(parent);
        }
      }
    }
    children.remove(p);
    return old;
  }

  /** Every known path strictly below {@code dir}, deepest last (parents before children). */
  List<Path> subtree(Path dir) {
    List<Path> out = new ArrayList<>();
    Deque<Path> todo = new ArrayDeque<>();
    todo.add(dir);
    while (!todo.isEmpty()) {
      Set<Path> kids = children.get(todo.poll());
      if (kids != null) {
        for (Path k : kids) {
          out.add(k);
          todo.add(k);
        }
      }
    }
    return out;
  }

  /** Every known file (not directory), for tests and diagnostics. */
  Set<Path> filePaths() {
    Set<Path> out = new LinkedHashSet<>();
    for (Map.Entry<Path, Entry> e : entries.entrySet()) {
      if (!e.getValue().dir()) {
        out.add(e.getKey());
      }
    }
    return out;
  }
}
