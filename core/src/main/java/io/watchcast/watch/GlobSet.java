package io.watchcast.watch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A set of glob patterns matched against paths relative to a watched root. Immutable and
 * thread-safe.
 *
 * <p>Syntax (gitignore-like, with {@code /} as the separator on every platform):
 *
 * <ul>
 *   <li>A pattern with no {@code /} is matched against the file or directory <em>name</em>, at any
 *       depth: {@code *.log} matches {@code a.log} and {@code logs/2024/a.log}; {@code
 *       node_modules} matches that directory wherever it is.
 *   <li>A pattern with a {@code /} is matched against the whole relative path: {@code src/*.java}
 *       matches {@code src/A.java} only; {@code src/**}{@code /*.java} matches it and every {@code
 *       .java} file below {@code src}.
 *   <li>{@code *} matches within one name, {@code **} across names, {@code **}{@code /} zero or
 *       more directories, {@code ?} one character, {@code [abc]} / {@code [!abc]} a class, {@code
 *       {a,b}} alternatives.
 * </ul>
 */
public final class GlobSet {
  private static final GlobSet EMPTY = new GlobSet(List.of(), List.of(), List.of());

  private final List<String> patterns;
  private final List<Pattern> byName;
  private final List<Pattern> byPath;

  private GlobSet(List<String> patterns, List<Pattern> byName, List<Pattern> byPath) {
    this.patterns = patterns;
    this.byName = byName;
    this.byPath = byPath;
  }

  /**
   * Compiles {@code patterns}.
   *
   * @throws IllegalArgumentException if a pattern is empty or malformed
   */
  public static GlobSet of(Collection<String> patterns) {
    Objects.requireNonNull(patterns, "patterns");
    if (patterns.isEmpty()) {
      return EMPTY;
    }
    List<Pattern> byName = new ArrayList<>();
    List<Pattern> byPath = new ArrayList<>();
    for (String p : patterns) {
      Objects.requireNonNull(p, "pattern");
      String glob = p.startsWith("/") ? p.substring(1) : p;
      if (glob.isEmpty()) {
        throw new IllegalArgumentException("empty glob pattern");
      }
      Pattern compiled;
      try {
        compiled = Pattern.compile(toRegex(glob));
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("malformed glob '" + p + "': " + e.getDescription(), e);
      }
      (glob.indexOf('/') < 0 ? byName : byPath).add(compiled);
    }
    return new GlobSet(List.copyOf(patterns), List.copyOf(byName), List.copyOf(byPath));
  }

  public static GlobSet of(String... patterns) {
    return of(List.of(patterns));
  }

  /** The patterns, as given. */
  public List<String> patterns() {
    return patterns;
  }

  public boolean isEmpty() {
    return patterns.isEmpty();
  }

  /** Whether {@code relative} (a path relative to the root, {@code /}-separated) matches. */
  public boolean matches(String relative) {
    if (!byName.isEmpty()) {
      int slash = relative.lastIndexOf('/');
      String name = slash < 0 ? relative : relative.substring(slash + 1);
      for (Pattern p : byName) {
        if (p.matcher(name).matches()) {
          return true;
        }
      }
    }
    for (Pattern p : byPath) {
      if (p.matcher(relative).matches()) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code path}, relative to {@code root}, matches; false for a path outside root. */
  public boolean matches(Path root, Path path) {
    if (!path.startsWith(root) || path.equals(root)) {
      return false;
    }
    return matches(relative(root, path));
  }

  /** {@code path} relative to {@code root}, with {@code /} separators. */
  static String relative(Path root, Path path) {
    String rel = root.relativize(path).toString();
    return root.getFileSystem().getSeparator().equals("/") ? rel : rel.replace('\\', '/');
  }

  static String toRegex(String glob) {
    StringBuilder re = new StringBuilder();
    int n = glob.length();
    boolean inGroup = false;
    for (int i = 0; i < n; i++) {
      char c = glob.charAt(i);
      switch (c) {
        case '*':
          if (i + 1 < n && glob.charAt(i + 1) == '*') {
            boolean atStart = i == 0 || glob.charAt(i - 1) == '/';
            if (atStart && i + 2 < n && glob.charAt(i + 2) == '/') {
              re.append("(?:.*/)?"); // **/ : zero or more directories
              i += 2;
            } else {
              re.append(".*");
              i += 1;
            }
          } else {
            re.append("[^/]*");
          }
          break;
        case '?':
          re.append("[^/]");
          break;
        case '[':
          {
            int end = glob.indexOf(']', i + 2);
            if (end < 0) {
              throw new IllegalArgumentException("unclosed [ in glob '" + glob + "'");
            }
            String body = glob.substring(i + 1, end);
            if (body.startsWith("!")) {
              body = "^" + body.substring(1);
            }
            re.append('[').append(body.replace("\\", "\\\\").replace("[", "\\[")).append(']');
            i = end;
            break;
          }
        case '{':
          if (inGroup) {
            throw new IllegalArgumentException("nested { in glob '" + glob + "'");
          }
          inGroup = true;
          re.append("(?:");
          break;
        case '}':
          if (!inGroup) {
            throw new IllegalArgumentException("unmatched } in glob '" + glob + "'");
          }
          inGroup = false;
          re.append(')');
          break;
        case ',':
          re.append(inGroup ? "|" : ",");
          break;
        default:
          if ("\\.^$+()|".indexOf(c) >= 0) {
            re.append('\\');
          }
          re.append(c);
      }
    }
    if (inGroup) {
      throw new IllegalArgumentException("unclosed { in glob '" + glob + "'");
    }
    return re.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GlobSet && ((GlobSet) o).patterns.equals(patterns);
  }

  @Override
  public int hashCode() {
    return patterns.hashCode();
  }

  @Override
  public String toString() {
    return "GlobSet" + patterns;
  }
}
