package io.watchcast.watch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

final class WatchOptionsTest {

  @Test
  void defaults_areTheDocumentedOnes() {
    WatchOptions o = WatchOptions.defaults();
    assertThat(o.backend()).isEqualTo(WatchOptions.Backend.NATIVE);
    assertThat(o.quietPeriod()).isEqualTo(Duration.ofMillis(20));
    assertThat(o.maxWait()).isEqualTo(Duration.ofMillis(200));
    assertThat(o.pollInterval()).isEqualTo(Duration.ofMillis(250));
    assertThat(o.defaultIgnores()).isTrue();
    assertThat(o.healthCheckInterval()).isZero();
    assertThat(o.fallbackToPolling()).isFalse();
    assertThat(WatchOptions.DEFAULT_IGNORES)
        .contains(".git", ".hg", ".svn", "node_modules", "*.swp", "*~", ".#*", "4913");
  }

  @Test
  void debounce_maxWaitMayEqualQuiet_butNotBeShorter() {
    assertThat(
            WatchOptions.defaults()
                .withDebounce(Duration.ofMillis(50), Duration.ofMillis(50))
                .maxWait())
        .isEqualTo(Duration.ofMillis(50));
    assertThatThrownBy(
            () ->
                WatchOptions.defaults().withDebounce(Duration.ofMillis(50), Duration.ofMillis(49)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxWait");
    assertThatThrownBy(
            () -> WatchOptions.defaults().withDebounce(Duration.ofMillis(-1), Duration.ofMillis(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void pollInterval_mustBePositive() {
    assertThatThrownBy(() -> WatchOptions.defaults().withPollInterval(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(WatchOptions.defaults().withPollInterval(Duration.ofNanos(1)).pollInterval())
        .isEqualTo(Duration.ofNanos(1));
  }

  @Test
  void malformedGlob_failsWhenTheOptionIsSet() {
    assertThatThrownBy(() -> WatchOptions.defaults().withExclude(List.of("{a")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
