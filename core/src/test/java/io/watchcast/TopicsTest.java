package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Topic names: 1 to 128 characters of {@code A-Z a-z 0-9 . _ : -}; {@code *} and system apart. */
final class TopicsTest {

  @ParameterizedTest
  @ValueSource(
      strings = {"a", "stats", "logs:api", "A-Z_a.z:0-9", "0", "-", "..", "System", "SYSTEM"})
  void isValid_acceptsNamesOfTheAllowedCharacters(String name) {
    assertThat(Topics.isValid(name)).isTrue();
    assertThat(Topics.requireValid(name)).isSameAs(name);
  }

  @Test
  void isValid_acceptsExactly128Characters_andRejects129() {
    assertThat(Topics.MAX_LENGTH).isEqualTo(128);
    assertThat(Topics.isValid("x".repeat(128))).isTrue();
    assertThat(Topics.isValid("x".repeat(129))).isFalse();
    assertThatThrownBy(() -> Topics.requireValid("x".repeat(129)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("topic is 129 characters; at most 128 are allowed");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        " ",
        "a b",
        "a/b",
        "a\\b",
        "a\"b",
        "a,b",
        "a*",
        "*",
        "system",
        "caf\u00e9",
        "a\u0000",
        "a\n",
        "\ud83d\ude00",
        "a?b",
        "a#b",
        "a%20b"
      })
  void isValid_rejectsEverythingElse_withAMessage(String name) {
    assertThat(Topics.isValid(name)).isFalse();
    assertThatThrownBy(() -> Topics.requireValid(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("topic");
  }

  @Test
  void requireValid_namesTheOffendingCharacterAndItsIndex() {
    assertThatThrownBy(() -> Topics.requireValid("ab/c"))
        .hasMessageContaining("'/'")
        .hasMessageContaining("index 2");
    assertThatThrownBy(() -> Topics.requireValid("a\u0007"))
        .hasMessageContaining("U+0007")
        .hasMessageContaining("index 1");
    assertThatThrownBy(() -> Topics.requireValid("*")).hasMessageContaining("all topics");
    assertThatThrownBy(() -> Topics.requireValid("system")).hasMessageContaining("reserved");
    assertThatThrownBy(() -> Topics.requireValid("")).hasMessage("topic must not be empty");
  }

  @Test
  void requireValid_ofNull_throwsNullPointer_isValid_saysFalse() {
    assertThatThrownBy(() -> Topics.requireValid(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("topic");
    assertThat(Topics.isValid(null)).isFalse();
  }
}
