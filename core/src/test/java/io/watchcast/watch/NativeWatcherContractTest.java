package io.watchcast.watch;

/** The contract, against the JDK WatchService backend with default debounce. */
final class NativeWatcherContractTest extends FileWatcherContractTest {
  @Override
  WatchOptions options() {
    return WatchOptions.defaults().withBackend(WatchOptions.Backend.NATIVE);
  }
}
