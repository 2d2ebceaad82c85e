package io.watchcast.watch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Objects;

/** Starts a {@link WatchLoop} per root, native or polling as the options say. */
final class DefaultFileWatcher implements FileWatcher {
  private final Hooks hooks;

  DefaultFileWatcher(Hooks hooks) {
    this.hooks = hooks;
  }

  @Override
  public WatchHandle watch(Path root, WatchOptions options, WatchListener listener)
      throws IOException {
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(listener, "listener");
    Path abs = root.toAbsolutePath().normalize();
    if (!Files.isDirectory(abs)) {
      throw new NotDirectoryException(abs.toString());
    }
    if (Files.isSymbolicLink(abs)) {
      abs = abs.toRealPath(); // a root that is a link is watched at its target
    }
    WatchLoop loop = new WatchLoop(abs, options, listener, hooks);
    loop.start();
    return loop;
  }
}
