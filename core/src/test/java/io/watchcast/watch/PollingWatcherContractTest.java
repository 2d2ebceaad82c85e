package io.watchcast.watch;

import java.time.Duration;

/** The contract, against the polling backend with a short interval to keep the suite fast. */
final class PollingWatcherContractTest extends FileWatcherContractTest {
  @Override
  WatchOptions options() {
    return WatchOptions.defaults()
        .withBackend(WatchOptions.Backend.POLLING)
        .withPollInterval(Duration.ofMillis(20));
  }
}
