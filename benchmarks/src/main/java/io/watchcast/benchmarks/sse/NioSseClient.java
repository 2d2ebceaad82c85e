package io.watchcast.benchmarks.sse;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * HTTP/1.1 SSE streams over real sockets with one NIO selector thread: no thread per stream on the
 * client side either. De-chunks the response and scans each event for its publish time.
 */
final class NioSseClient implements AutoCloseable {
  private final Recorder recorder;
  private final Selector selector;
  private final Thread thread;
  private final List<SocketChannel> channels = new ArrayList<>();
  final AtomicInteger open = new AtomicInteger();
  final AtomicInteger headersSeen = new AtomicInteger();
  private volatile boolean running = true;

  NioSseClient(Recorder recorder) throws IOException {
    this.recorder = recorder;
    this.selector = Selector.open();
    this.thread = new Thread(this::loop, "nio-sse-client");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /** Opens {@code n} streams to {@code path}; returns once all are connected and sent. */
  void open(InetSocketAddress server, String path, int n) throws IOException {
    byte[] request =
        ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < n; i++) {
      SocketChannel ch = SocketChannel.open();
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.connect(server);
      ByteBuffer req = ByteBuffer.wrap(request);
      while (req.hasRemaining()) {
        ch.write(req);
      }
      ch.configureBlocking(false);
      synchronized (channels) {
        channels.add(ch);
      }
      pending.add(ch);
      open.incrementAndGet();
      if ((i & 63) == 63) {
        selector.wakeup();
      }
    }
    selector.wakeup();
  }

  private final java.util.concurrent.ConcurrentLinkedQueue<SocketChannel> pending =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private void loop() {
    ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
    try {
      while (running) {
        SocketChannel ch;
        while ((ch = pending.poll()) != null) {
          ch.register(selector, SelectionKey.OP_READ, new Conn());
        }
        selector.select(100);
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
          SelectionKey key = it.next();
          it.remove();
          SocketChannel c = (SocketChannel) key.channel();
          Conn conn = (Conn) key.attachment();
          buf.clear();
          int n;
          try {
            n = c.read(buf);
          } catch (IOException e) {
            n = -1;
          }
          if (n < 0) {
            key.cancel();
            c.close();
            open.decrementAndGet();
            continue;
          }
          // After the read: the bytes may have arrived after select() returned.
          conn.feed(buf, n, System.nanoTime());
        }
      }
    } catch (IOException e) {
      if (running) {
        e.printStackTrace();
      }
    }
  }

  /** Per connection: response headers, then chunked framing, then SSE bytes to the scanner. */
  private final class Conn {
    private static final int HEADERS = 0, SIZE = 1, DATA = 2, DATA_CRLF = 3;
    private int state = HEADERS;
    private int headerMatch;
    private long chunk;
    private boolean sizeDone;
    private final Recorder.Scanner scanner = new Recorder.Scanner();

    void feed(ByteBuffer buf, int n, long now) {
      int i = 0;
      while (i < n) {
        switch (state) {
          case HEADERS -> {
            byte c = buf.get(i++);
            headerMatch =
                (c == (headerMatch % 2 == 0 ? '\r' : '\n')) ? headerMatch + 1 : (c == '\r' ? 1 : 0);
            if (headerMatch == 4) {
              state = SIZE;
              chunk = 0;
              sizeDone = false;
              headersSeen.incrementAndGet();
            }
          }
          case SIZE -> {
            byte c = buf.get(i++);
            if (c == '\n') {
              state = chunk == 0 ? DATA_CRLF : DATA;
            } else if (!sizeDone) {
              int d = Character.digit(c, 16);
              if (d >= 0) {
                chunk = chunk * 16 + d;
              } else {
                sizeDone = true; // '\r' or an extension
              }
            }
          }
          case DATA -> {
            int take = (int) Math.min(chunk, n - i);
            scanner.scan(recorder, buf, i, i + take, now);
            i += take;
            chunk -= take;
            if (chunk == 0) {
              state = DATA_CRLF;
              headerMatch = 0;
            }
          }
          case DATA_CRLF -> {
            byte c = buf.get(i++);
            if (c == '\n') {
              state = SIZE;
              chunk = 0;
              sizeDone = false;
            }
          }
          default -> throw new IllegalStateException();
        }
      }
    }
  }

  /** Closes every stream. */
  @Override
  public void close() throws IOException {
    running = false;
    selector.wakeup();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (channels) {
      for (SocketChannel ch : channels) {
        ch.close();
      }
      channels.clear();
    }
    selector.close();
  }
}
