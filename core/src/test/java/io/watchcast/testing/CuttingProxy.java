package io.watchcast.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy for tests that cuts connections the way a network failure does: it listens on
 * 127.0.0.1 (an ephemeral port, {@link #port()}), forwards every accepted connection to a target,
 * and {@link Link#cut()} or {@link #cutRandom()} resets both sides at once (SO_LINGER 0, so each
 * peer reads a reset, not an orderly end).
 *
 * <p>Two threads per connection, one per direction, and one that accepts. Bytes are written on as
 * soon as they are read, so nothing is held back before a cut; an orderly end of one side is passed
 * on as a half-close, and a reset of one side resets the other. Only what a cut destroys is lost.
 *
 * <p>Thread-safe. {@link #close()} resets every open connection and stops listening.
 */
public final class CuttingProxy implements AutoCloseable {
  private static final int BUFFER = 16 * 1024;

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Link> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger cuts = new AtomicInteger();
  private volatile boolean closed;

  private CuttingProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
  }

  /** A proxy to {@code 127.0.0.1:targetPort}, accepting connections when this returns. */
  public static CuttingProxy start(int targetPort) throws IOException {
    return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
  }

  /** A proxy to {@code target}, accepting connections when this returns. */
  public static CuttingProxy start(InetSocketAddress target) throws IOException {
    CuttingProxy p = new CuttingProxy(target);
    Thread t = new Thread(p::acceptLoop, "proxy-accept-" + p.port());
    t.setDaemon(true);
    t.start();
    return p;
  }

  /** The port clients connect to. */
  public int port() {
    return server.getLocalPort();
  }

  /** The connections open now, oldest first. */
  public List<Link> links() {
    List<Link> links = new ArrayList<>(open);
    links.sort(Comparator.comparingInt(Link::number));
    return links;
  }

  /**
   * Cuts one open connection chosen at random.
   *
   * @return false if no connection was open
   */
  public boolean cutRandom() {
    while (true) {
      List<Link> links = new ArrayList<>(open);
      if (links.isEmpty()) {
        return false;
      }
      if (links.get(ThreadLocalRandom.current().nextInt(links.size())).cut()) {
        return true;
      }
      // That one ended by itself meanwhile; choose again.
    }
  }

  /** Connections cut by {@link Link#cut()} or {@link #cutRandom()} so far. */
  public int cuts() {
    return cuts.get();
  }

  /** Connections accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    for (Link l : open) {
      l.end(true);
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      Link link = new Link(accepted.incrementAndGet(), client);
      open.add(link);
      if (closed) {
        link.end(true);
        return;
      }
      link.thread("up", link::connectAndForward);
    }
  }

  private static void reset(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (IOException ignored) {
      // already closed: close() below is a no-op
    }
    closeQuietly(s);
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing left to do
    }
  }

  /** One proxied connection: the accepted client socket and the socket to the target. */
  public final class Link {
    private final int number;
    private final Socket client;
    private final AtomicLong toClient = new AtomicLong();
    private final AtomicInteger directionsDone = new AtomicInteger();
    private Socket upstream; // guarded by this
    private boolean ended; // guarded by this

    private Link(int number, Socket client) {
      this.number = number;
      this.client = client;
    }

    /** 1 for the first connection accepted, 2 for the next, ... */
    public int number() {
      return number;
    }

    /** Bytes forwarded from the target to the client so far. */
    public long bytesToClient() {
      return toClient.get();
    }

    /**
     * Resets both sides now and counts a cut.
     *
     * @return false if the connection had already ended
     */
    public boolean cut() {
      if (!end(true)) {
        return false;
      }
      cuts.incrementAndGet();
      return true;
    }

    /** Ends both sides, with resets if {@code abort}; true if this call ended the link. */
    private boolean end(boolean abort) {
      Socket up;
      synchronized (this) {
        if (ended) {
          return false;
        }
        ended = true;
        up = upstream;
      }
      open.remove(this);
      if (abort) {
        reset(client);
        if (up != null) {
          reset(up);
        }
      } else {
        closeQuietly(client);
        if (up != null) {
          closeQuietly(up);
        }
      }
      return true;
    }

    private void thread(String direction, Runnable run) {
      Thread t = new Thread(run, "proxy-" + port() + "-" + number + "-" + direction);
      t.setDaemon(true);
      t.start();
    }

    private void connectAndForward() {
      Socket up = new Socket();
      try {
        up.setTcpNoDelay(true);
        client.setTcpNoDelay(true);
        up.connect(target, 10_000);
      } catch (IOException e) {
        reset(up);
        end(true); // the target is down: the client reads a reset, as from a dead server
        return;
      }
      synchronized (this) {
        if (ended) {
          reset(up);
          return;
        }
        upstream = up;
      }
      thread("down", () -> forward(up, client, toClient));
      forward(client, up, null);
    }

    private void forward(Socket from, Socket to, AtomicLong counter) {
      byte[] buffer = new byte[BUFFER];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        int n;
        while ((n = in.read(buffer)) >= 0) {
          if (counter != null) {
            // Counted before the write, so that a peer that has read the bytes sees them counted.
            counter.addAndGet(n);
          }
          out.write(buffer, 0, n);
        }
        to.shutdownOutput(); // an orderly end, passed on
        if (directionsDone.incrementAndGet() == 2) {
          end(false);
        }
      } catch (IOException e) {
        end(true); // a reset (or a cut) of one side resets the other
      }
    }
  }
}
