package io.watchcast.watch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

final class GlobSetTest {

  @Test
  void patternWithoutSlash_matchesTheNameAtAnyDepth() {
    GlobSet g = GlobSet.of("*.log", "node_modules");
    assertThat(g.matches("a.log")).isTrue();
    assertThat(g.matches("x/y/a.log")).isTrue();
    assertThat(g.matches("x/node_modules")).isTrue();
    assertThat(g.matches("a.log.gz")).isFalse();
  }

  @Test
  void patternWithSlash_matchesTheWholeRelativePath() {
    GlobSet g = GlobSet.of("src/*.java", "docs/**");
    assertThat(g.matches("src/A.java")).isTrue();
    assertThat(g.matches("src/x/A.java")).isFalse();
    assertThat(g.matches("lib/src/A.java")).isFalse();
    assertThat(g.matches("docs/a/b/c.md")).isTrue();
  }

  @Test
  void doubleStarSlash_isZeroOrMoreDirectories() {
    GlobSet g = GlobSet.of("src/**/*.java");
    assertThat(g.matches("src/A.java")).isTrue();
    assertThat(g.matches("src/a/b/A.java")).isTrue();
    assertThat(g.matches("src/a/b/A.kt")).isFalse();
  }

  @Test
  void classesAlternativesAndSingleCharacters() {
    GlobSet g = GlobSet.of("{a,b}[0-9]?.txt", "[!x]*.md");
    assertThat(g.matches("a1z.txt")).isTrue();
    assertThat(g.matches("c1z.txt")).isFalse();
    assertThat(g.matches("readme.md")).isTrue();
    assertThat(g.matches("xreadme.md")).isFalse();
    assertThat(GlobSet.of("a.b(c)+$").matches("a.b(c)+$")).isTrue();
  }

  @Test
  void matchesWithRoot_isFalseOutsideTheRootAndForTheRootItself() {
    Path root = Path.of("/data/root");
    GlobSet g = GlobSet.of("**");
    assertThat(g.matches(root, root.resolve("a/b"))).isTrue();
    assertThat(g.matches(root, Path.of("/data/other/a"))).isFalse();
    assertThat(g.matches(root, root)).isFalse();
  }

  @Test
  void malformedPatterns_failAtOnce() {
    assertThatThrownBy(() -> GlobSet.of("a{b")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GlobSet.of("a}")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GlobSet.of("[ab")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GlobSet.of("")).isInstanceOf(IllegalArgumentException.class);
  }
}
