package io.watchcast.watch;

import static org.assertj.core.api.Assertions.assertThat;

/** The contract, against the JDK WatchService backend with default debounce. */
final class NativeWatcherContractTest extends FileWatcherContractTest {
  @Override
  WatchOptions options() {
    return WatchOptions.defaults().withBackend(WatchOptions.Backend.NATIVE);
  }

  /** 5,000 events while the listener was blocked overflowed the key: recovered by a rescan. */
  @Override
  void afterEventsPiledUp() {
    assertThat(watch.stats().overflows()).isPositive();
    assertThat(watch.stats().rescans()).isPositive();
    assertThat(recorder.seen()).anyMatch(ChangeBatch::rescan);
  }
}
