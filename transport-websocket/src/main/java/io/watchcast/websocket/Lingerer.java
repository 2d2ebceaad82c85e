package io.watchcast.websocket;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes sockets so that the peer can read the server's last bytes (a close frame, an HTTP error
 * response). A socket closed while input waits unread in it is answered by the kernel with a reset,
 * which throws away whatever the peer had not read yet: the close frame is lost and a browser
 * reports 1006. So once Java-WebSocket has handed its last bytes to the socket, the socket comes
 * here instead of being closed: the server half-closes it (FIN after the last bytes), then reads
 * and discards what the peer still sends until the peer's end of stream or the deadline, and only
 * then closes it. A slow consumer's socket ({@code reset}) is reset instead at the deadline, so
 * that the kernel drops what it still holds for a client that stopped reading.
 *
 * <p>One daemon thread ({@code watchcast-ws-linger}) with its own selector. At most {@code max}
 * sockets linger at once; past that, or after {@link #stop()}, {@link #linger} refuses and the
 * caller closes the socket at once. Thread-safe.
 */
final class Lingerer implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(Lingerer.class);

  private final int max;
  private final ConcurrentLinkedQueue<Lingering> incoming = new ConcurrentLinkedQueue<>();
  private final AtomicInteger count = new AtomicInteger();
  private final ByteBuffer sink = ByteBuffer.allocateDirect(16 * 1024);
  private volatile Selector selector;
  private volatile boolean stopped;

  Lingerer(int max) {
    this.max = max;
  }

  /** One socket: the bytes still to write (TLS close_notify), and when to give up on the peer. */
  private static final class Lingering {
    final SocketChannel socket;
    final ByteBuffer tail;
    final long deadlineNanos;
    final boolean reset;

    Lingering(SocketChannel socket, ByteBuffer tail, long deadlineNanos, boolean reset) {
      this.socket = socket;
      this.tail = tail;
      this.deadlineNanos = deadlineNanos;
      this.reset = reset;
    }
  }

  void start() throws IOException {
    selector = Selector.open();
    Thread t = new Thread(this, "watchcast-ws-linger");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Takes over {@code socket} (non-blocking, no longer used by anyone else): writes {@code tail} if
   * not null, half-closes, discards input until the peer's end of stream or {@code deadlineNanos},
   * then closes ({@code reset}: with a reset, if the deadline comes first or the transport stops).
   * False if it cannot take it: the caller closes the socket.
   */
  boolean linger(SocketChannel socket, ByteBuffer tail, long deadlineNanos, boolean reset) {
    Selector s = selector;
    if (stopped || s == null) {
      return false;
    }
    if (count.incrementAndGet() > max) {
      count.decrementAndGet();
      return false;
    }
    incoming.add(new Lingering(socket, tail, deadlineNanos, reset));
    s.wakeup();
    return true;
  }

  /** Sockets lingering now. */
  int lingering() {
    return count.get();
  }

  /** Closes every lingering socket and stops the thread. */
  void stop() {
    stopped = true;
    Selector s = selector;
    if (s != null) {
      s.wakeup();
    }
  }

  @Override
  public void run() {
    Selector s = selector;
    try {
      while (!stopped) {
        register(s);
        s.select(expire(s));
        for (Iterator<SelectionKey> it = s.selectedKeys().iterator(); it.hasNext(); ) {
          SelectionKey key = it.next();
          it.remove();
          serve(key);
        }
      }
    } catch (IOException | ClosedSelectorException e) {
      log.error("Lingering closes failed; closing their sockets", e);
    } finally {
      stopped = true;
      for (SelectionKey key : s.keys()) {
        if (key.isValid()) {
          expired(key);
        }
      }
      for (Lingering l; (l = incoming.poll()) != null; ) {
        close(l.socket, l.reset);
      }
      try {
        s.close();
      } catch (IOException e) {
        // nothing left to release
      }
    }
  }

  private void register(Selector s) {
    for (Lingering l; (l = incoming.poll()) != null; ) {
      try {
        boolean writing = l.tail != null && l.tail.hasRemaining();
        if (!writing) {
          l.socket.shutdownOutput();
        }
        l.socket.register(s, writing ? SelectionKey.OP_WRITE : SelectionKey.OP_READ, l);
      } catch (IOException | RuntimeException e) {
        close(l.socket, l.reset);
      }
    }
  }

  /** Closes sockets past their deadline; returns the select timeout until the next one. */
  private long expire(Selector s) {
    long now = System.nanoTime();
    long next = TimeUnit.SECONDS.toNanos(1);
    List<SelectionKey> expired = new ArrayList<>();
    for (SelectionKey key : s.keys()) {
      if (!key.isValid()) {
        continue; // ended in the last pass
      }
      long left = ((Lingering) key.attachment()).deadlineNanos - now;
      if (left <= 0) {
        expired.add(key);
      } else {
        next = Math.min(next, left);
      }
    }
    for (SelectionKey key : expired) {
      expired(key); // the peer kept sending or never closed: close anyway (a reset, if input waits)
    }
    return Math.max(1, TimeUnit.NANOSECONDS.toMillis(next));
  }

  private void serve(SelectionKey key) {
    Lingering l = (Lingering) key.attachment();
    try {
      if (key.isValid() && key.isWritable()) {
        l.socket.write(l.tail);
        if (!l.tail.hasRemaining()) {
          l.socket.shutdownOutput();
          key.interestOps(SelectionKey.OP_READ);
        }
      } else if (key.isValid() && key.isReadable()) {
        for (int reads = 0; reads < 16; reads++) { // then let the others have a turn
          sink.clear();
          int n = l.socket.read(sink);
          if (n < 0) {
            end(key); // the peer closed too: nothing unread, a clean close
            return;
          }
          if (n == 0) {
            return;
          }
        }
      }
    } catch (IOException e) {
      end(key);
    }
  }

  /** The peer closed too, or failed: a plain close. */
  private void end(SelectionKey key) {
    key.cancel();
    close(((Lingering) key.attachment()).socket, false);
  }

  /** Past the deadline, or stopping: a slow consumer's socket is reset. */
  private void expired(SelectionKey key) {
    key.cancel();
    Lingering l = (Lingering) key.attachment();
    close(l.socket, l.reset);
  }

  private void close(SocketChannel socket, boolean reset) {
    count.decrementAndGet();
    if (reset) {
      HookedChannel.resetOnClose(socket);
    }
    try {
      socket.close();
    } catch (IOException e) {
      // closed either way
    }
  }
}
