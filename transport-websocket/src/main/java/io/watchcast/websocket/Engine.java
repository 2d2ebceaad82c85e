package io.watchcast.websocket;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLEngine;
import org.java_websocket.WebSocket;
import org.java_websocket.WebSocketAdapter;
import org.java_websocket.WebSocketImpl;
import org.java_websocket.WebSocketServerFactory;
import org.java_websocket.drafts.Draft;
import org.java_websocket.exceptions.InvalidDataException;
import org.java_websocket.framing.CloseFrame;
import org.java_websocket.framing.Framedata;
import org.java_websocket.handshake.ClientHandshake;
import org.java_websocket.handshake.HandshakeImpl1Server;
import org.java_websocket.handshake.ServerHandshakeBuilder;
import org.java_websocket.server.WebSocketServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Java-WebSocket server behind a {@link WebSocketTransport}: admission at the handshake,
 * dispatch of frames to each connection's session, and housekeeping (pings and dead peers,
 * handshake and close timeouts).
 */
final class Engine extends WebSocketServer {
  private static final Logger log = LoggerFactory.getLogger(Engine.class);
  private static final AtomicLong IDS = new AtomicLong();

  final WebSocketTransport transport;
  final CompletableFuture<Void> bound = new CompletableFuture<>();
  private final Set<WsConnection> all = ConcurrentHashMap.newKeySet();
  private final AtomicInteger admitted = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
  private volatile ScheduledExecutorService housekeeping;
  final Writer writer = new Writer();
  final Lingerer lingerer;

  final AtomicInteger openNow = new AtomicInteger();
  final LongAdder opened = new LongAdder();
  final LongAdder rejected = new LongAdder();
  final LongAdder framesSent = new LongAdder();
  final LongAdder writes = new LongAdder();
  final LongAdder bytesSent = new LongAdder();

  Engine(WebSocketTransport t) {
    super(
        t.bindAddress,
        t.workerThreads,
        Collections.singletonList(new WatchcastDraft(t.maxFrameBytes)),
        Collections.synchronizedSet(new HashSet<>()));
    this.transport = t;
    this.lingerer = new Lingerer(t.maxConnections);
    setTcpNoDelay(true);
    setReuseAddr(true);
    setDaemon(true);
    // Off: its checker runs once per interval, so it dropped a silent peer up to 2.5 intervals
    // after its last pong. The housekeeping tick pings and drops instead (see housekeep()).
    setConnectionLostTimeout(0);
    setWebSocketFactory(new Factory());
    // The JDK's default accept backlog (50) drops SYNs when many clients reconnect at once, as
    // after a restart; the kernel caps this at net.core.somaxconn.
    setMaxPendingConnections(1024);
  }

  /** Creates connections and wraps their sockets in {@link HookedChannel}. */
  private final class Factory implements WebSocketServerFactory {
    @Override
    public WebSocketImpl createWebSocket(WebSocketAdapter a, Draft d) {
      return new LingeringWebSocket(a, Collections.singletonList(d));
    }

    @Override
    public WebSocketImpl createWebSocket(WebSocketAdapter a, List<Draft> drafts) {
      return new LingeringWebSocket(a, drafts);
    }

    @Override
    public ByteChannel wrapChannel(SocketChannel channel, SelectionKey key) throws IOException {
      if (transport.sendBufferBytes > 0) {
        // Bounds what the kernel holds for a client that stops reading, so that backpressure
        // reaches the hub's queue (conflation, slow-consumer close) instead of megabytes of old
        // frames waiting in an autotuned buffer.
        channel.setOption(StandardSocketOptions.SO_SNDBUF, transport.sendBufferBytes);
      }
      WebSocketImpl ws = (WebSocketImpl) key.attachment();
      WsConnection c = new WsConnection(Engine.this, ws, "ws-" + IDS.incrementAndGet());
      try {
        c.remote((InetSocketAddress) channel.getRemoteAddress());
      } catch (IOException | RuntimeException e) {
        // stays "unknown"; the handshake check refuses it
      }
      ws.setAttachment(c);
      all.add(c);
      HookedChannel hooked;
      if (transport.tls != null) {
        try {
          SSLEngine engine = transport.tls.createSSLEngine();
          engine.setUseClientMode(false);
          hooked =
              new HookedChannel.Tls(channel, new TlsChannel(channel, engine, tlsTasks(), key), c);
        } catch (IOException e) {
          all.remove(c); // the server drops the socket
          throw e;
        } catch (RuntimeException e) {
          // An IOException drops this connection; anything else would stop the whole server.
          all.remove(c);
          throw new IOException("TLS setup failed: " + e, e);
        }
      } else {
        hooked = new HookedChannel(channel, c);
      }
      c.channel(hooked);
      return hooked;
    }

    @Override
    public void close() {}
  }

  /**
   * Java-WebSocket's connection, telling ours when it closes the socket because everything queued
   * (a close frame, an HTTP error response) has been written: then the socket lingers.
   */
  private static final class LingeringWebSocket extends WebSocketImpl {
    LingeringWebSocket(WebSocketAdapter listener, List<Draft> drafts) {
      super(listener, drafts);
    }

    /** Called by the selector (only) once the queue of a flushing connection is empty. */
    @Override
    public void closeConnection() {
      WsConnection c = getAttachment();
      if (c != null) {
        c.flushed();
      }
      super.closeConnection();
    }
  }

  private final Object tlsLock = new Object();
  private ExecutorService tlsTasks; // guarded by tlsLock

  /** One thread for the TLS engines' delegated tasks (certificate and key work in handshakes). */
  private ExecutorService tlsTasks() {
    synchronized (tlsLock) {
      if (tlsTasks == null) {
        ThreadPoolExecutor pool =
            new ThreadPoolExecutor(
                1,
                1,
                30,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(),
                r -> {
                  Thread t = new Thread(r, "watchcast-ws-tls");
                  t.setDaemon(true);
                  return t;
                },
                // After shutdown (a handshake still running when the server stops): run it here.
                (task, executor) -> task.run());
        pool.allowCoreThreadTimeOut(true);
        tlsTasks = pool;
      }
      return tlsTasks;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  @Override
  public void onStart() {
    bound.complete(null);
  }

  /**
   * The writer thread: writes the batches of connections that have nothing waiting in the socket
   * layer straight to their sockets, so that an idle connection's message costs one system call and
   * no selector round trip.
   */
  final class Writer implements Runnable {
    private final ConcurrentLinkedQueue<WsConnection> ready = new ConcurrentLinkedQueue<>();
    private volatile Thread thread;
    private volatile boolean waiting;
    private volatile boolean stopped;

    void start() {
      Thread t = new Thread(this, "watchcast-ws-writer");
      t.setDaemon(true);
      thread = t;
      t.start();
    }

    void schedule(WsConnection c) {
      ready.add(c);
      if (waiting) {
        LockSupport.unpark(thread);
      }
    }

    void stop() {
      stopped = true;
      Thread t = thread;
      if (t != null) {
        LockSupport.unpark(t);
      }
    }

    /** Connections handed to the selector in this pass; their write interest is asked again. */
    private final List<WsConnection> handedOff = new ArrayList<>();

    void handedOff(WsConnection c) {
      handedOff.add(c);
    }

    @Override
    public void run() {
      while (!stopped) {
        WsConnection c;
        while ((c = ready.poll()) != null) {
          try {
            c.writeDirect();
          } catch (RuntimeException e) {
            log.error("Writing to {} failed", c, e);
          }
        }
        // A second request for write interest, after the pass: the selector may have reset the
        // first one while it finished an earlier write of the same connection.
        for (int i = 0; i < handedOff.size(); i++) {
          try {
            onWriteDemand(handedOff.get(i).ws);
          } catch (RuntimeException e) {
            // closed meanwhile
          }
        }
        handedOff.clear();
        waiting = true;
        if (ready.isEmpty() && !stopped) {
          LockSupport.park(this);
        }
        waiting = false;
      }
    }
  }

  private long tickNanos;

  void startHousekeeping() throws IOException {
    writer.start();
    lingerer.start();
    long tickMillis =
        Math.min(
            1000,
            Math.min(transport.handshakeTimeout.toMillis(), transport.closeTimeout.toMillis()) / 4);
    if (!transport.connectionLostTimeout.isZero()) {
      tickMillis = Math.min(tickMillis, transport.connectionLostTimeout.toMillis() / 20);
    }
    tickMillis = Math.max(50, tickMillis);
    tickNanos = TimeUnit.MILLISECONDS.toNanos(tickMillis);
    ScheduledExecutorService s =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "watchcast-ws-housekeeping");
              t.setDaemon(true);
              return t;
            });
    housekeeping = s;
    s.scheduleWithFixedDelay(this::housekeep, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
  }

  /**
   * Pings open connections and drops dead ones; drops connections stuck in the handshake or in
   * closing. A client is dead when it sent no pong for 1.5 ping intervals: checked each tick
   * against 1.5 intervals less a tick, so that the drop comes at the latest 1.5 intervals after its
   * last pong.
   */
  private void housekeep() {
    try {
      long now = System.nanoTime();
      long handshakeNanos = transport.handshakeTimeout.toNanos();
      long closeNanos = transport.closeTimeout.toNanos();
      long pingNanos = transport.connectionLostTimeout.toNanos();
      long deadNanos = pingNanos * 3 / 2 - tickNanos;
      for (WsConnection c : all) {
        if (c.awaitingHandshake()) {
          if (now - c.acceptedAtNanos > handshakeNanos) {
            log.debug("Dropping {}: no handshake within {}", c, transport.handshakeTimeout);
            c.ws.closeConnection(CloseFrame.ABNORMAL_CLOSE, "handshake timeout");
          }
          continue;
        }
        if (pingNanos > 0 && c.state() == WsConnection.OPEN && c.ws.isOpen()) {
          try {
            c.keepAlive(now, pingNanos, deadNanos);
          } catch (RuntimeException e) {
            // closed meanwhile
          }
        }
        if (c.tlsRecordsPending()) {
          try {
            onWriteDemand(c.ws); // TLS records left unwritten: let the selector finish them
          } catch (RuntimeException e) {
            // closed meanwhile
          }
        }
        if (c.state() == WsConnection.OPEN && c.ws.hasBufferedData()) {
          // Re-arm write interest: Java-WebSocket's selector resets it to read-only after a
          // write pass, and can overwrite a concurrent request for it (a lost wake-up, repaired
          // here within a tick).
          try {
            onWriteDemand(c.ws);
          } catch (RuntimeException e) {
            // closed meanwhile
          }
        }
        if (c.ws.isClosing() || c.ws.isFlushAndClose()) {
          c.markClosing();
          if (now - c.closingSinceNanos() > closeNanos) {
            log.debug("Dropping {}: did not finish closing within {}", c, transport.closeTimeout);
            c.ws.closeConnection(CloseFrame.ABNORMAL_CLOSE, "close timeout");
          }
        }
      }
    } catch (RuntimeException e) {
      log.error("Housekeeping failed", e);
    }
  }

  void shutdown() {
    writer.stop();
    ScheduledExecutorService s = housekeeping;
    if (s != null) {
      s.shutdownNow();
    }
    try {
      stop(1000, "server shutting down");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // Java-WebSocket 1.6.0 races with itself here: when the last connection closes during
      // stop(), its selector closes and a later close frame fails with ClosedSelectorException.
      log.debug("Java-WebSocket stop failed; dropping the remaining connections", e);
    }
    for (WsConnection c : new ArrayList<>(all)) {
      try {
        c.ws.closeConnection(CloseFrame.GOING_AWAY, "server shut down");
      } catch (RuntimeException e) {
        log.debug("Dropping {} failed", c, e);
      }
    }
    synchronized (tlsLock) {
      if (tlsTasks != null) {
        tlsTasks.shutdownNow();
      }
    }
    lingerer.stop(); // closes the sockets still waiting for their peers (with the 1001 frames)
  }

  // -------------------------------------------------------------------------------------------
  // Handshake

  @Override
  public ServerHandshakeBuilder onWebsocketHandshakeReceivedAsServer(
      WebSocket conn, Draft draft, ClientHandshake request) throws InvalidDataException {
    WsConnection c = conn.getAttachment();
    Rejection r;
    try {
      r = admit(c, request);
    } catch (RuntimeException e) {
      log.error("Handshake check failed for {}", c, e);
      r = new Rejection(500, "internal error");
    }
    if (r != null) {
      rejected.increment();
      c.rejected();
      log.debug("Refused {}: {}", c, r);
      return r;
    }
    return new HandshakeImpl1Server();
  }

  /** Null to accept (having reserved the connection's place), or the refusal. */
  private Rejection admit(WsConnection c, ClientHandshake request) {
    Rejection malformed = UpgradeCheck.check(request);
    if (malformed != null) {
      return malformed;
    }
    String target = request.getResourceDescriptor();
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    String rawQuery = q < 0 ? "" : target.substring(q + 1);
    if (!path.equals(transport.path)) {
      return new Rejection(404, "no WebSocket endpoint at this path");
    }
    String origin = request.getFieldValue("Origin");
    if (!transport.originPolicy.allows(origin)) {
      return new Rejection(403, "origin not allowed");
    }
    Map<String, List<String>> query;
    try {
      query = parseQuery(rawQuery);
    } catch (IllegalArgumentException e) {
      return new Rejection(400, "malformed query: " + e.getMessage());
    }
    WsConnection.QueryParameters subscriptions;
    try {
      subscriptions = subscriptions(query);
    } catch (IllegalArgumentException e) {
      return new Rejection(400, e.getMessage());
    }
    InetAddress address = c.remoteInetAddress();
    if (address == null) {
      return new Rejection(400, "unknown remote address");
    }
    Rejection limit = reserve(c, address);
    if (limit != null) {
      return limit;
    }
    Authentication auth;
    try {
      auth = transport.authenticator.authenticate(handshake(path, query, request, c));
      if (auth == null) {
        throw new NullPointerException("authenticator returned null");
      }
    } catch (RuntimeException e) {
      release(c);
      log.error("Authenticator failed for {}; refusing", c, e);
      return new Rejection(500, "authentication failed");
    }
    if (!auth.allowed()) {
      release(c);
      return new Rejection(auth.status(), auth.message());
    }
    c.admitted(auth.principal().orElse(null), subscriptions);
    return null;
  }

  private Rejection reserve(WsConnection c, InetAddress address) {
    if (admitted.incrementAndGet() > transport.maxConnections) {
      admitted.decrementAndGet();
      return new Rejection(503, "too many connections (at most " + transport.maxConnections + ")");
    }
    boolean[] over = new boolean[1];
    perAddress.compute(
        address,
        (a, n) -> {
          int current = n == null ? 0 : n;
          if (current >= transport.maxConnectionsPerAddress) {
            over[0] = true;
            return n;
          }
          return current + 1;
        });
    if (over[0]) {
      admitted.decrementAndGet();
      return new Rejection(
          429,
          "too many connections from this address (at most "
              + transport.maxConnectionsPerAddress
              + ")");
    }
    c.counted(true);
    return null;
  }

  /** Gives back the place {@link #reserve} took, once. */
  private void release(WsConnection c) {
    if (!c.counted(false)) {
      return;
    }
    admitted.decrementAndGet();
    perAddress.computeIfPresent(c.remoteInetAddress(), (a, n) -> n <= 1 ? null : n - 1);
  }

  private static Handshake handshake(
      String path, Map<String, List<String>> query, ClientHandshake request, WsConnection c) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (Iterator<String> it = request.iterateHttpFields(); it.hasNext(); ) {
      String name = it.next();
      headers.put(name.toLowerCase(Locale.ROOT), request.getFieldValue(name));
    }
    Map<String, String> cookies = new LinkedHashMap<>();
    String cookieHeader = headers.get("cookie");
    if (cookieHeader != null) {
      for (String part : cookieHeader.split(";")) {
        int eq = part.indexOf('=');
        if (eq > 0) {
          cookies.putIfAbsent(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
      }
    }
    return new Handshake(path, query, headers, cookies, c.remoteSocketAddress());
  }

  static Map<String, List<String>> parseQuery(String raw) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    if (raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    Map<String, List<String>> frozen = new LinkedHashMap<>();
    out.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
    return frozen;
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8); // IllegalArgumentException on bad %xx
  }

  /** The {@code topic}, {@code since} and {@code epoch} query parameters. */
  static WsConnection.QueryParameters subscriptions(Map<String, List<String>> query) {
    List<String> topics = query.getOrDefault("topic", List.of());
    List<String> since = query.getOrDefault("since", List.of());
    List<String> epoch = query.getOrDefault("epoch", List.of());
    if (since.size() > 1 || epoch.size() > 1) {
      throw new IllegalArgumentException("'since' and 'epoch' may appear once");
    }
    if ((!since.isEmpty() || !epoch.isEmpty()) && topics.size() != 1) {
      throw new IllegalArgumentException("'since' and 'epoch' need exactly one 'topic'");
    }
    long sinceValue = -1;
    if (!since.isEmpty()) {
      try {
        sinceValue = Long.parseLong(since.get(0));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'since' must be a whole number");
      }
      if (sinceValue < 0) {
        throw new IllegalArgumentException("'since' must not be negative");
      }
    }
    return new WsConnection.QueryParameters(
        topics, sinceValue, epoch.isEmpty() ? null : epoch.get(0));
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  @Override
  public void onOpen(WebSocket conn, ClientHandshake handshake) {
    WsConnection c = conn.getAttachment();
    if (c.state() == WsConnection.REJECTED) {
      // The HTTP error response is queued in place of the 101: write it, then drop the socket.
      ((WebSocketImpl) conn).flushAndClose(CloseFrame.POLICY_VALIDATION, "refused", false);
      return;
    }
    c.open();
  }

  @Override
  public void onMessage(WebSocket conn, String message) {
    WsConnection c = conn.getAttachment();
    c.receive(message);
  }

  @Override
  public void onMessage(WebSocket conn, ByteBuffer message) {
    WsConnection c = conn.getAttachment();
    if (c.state() == WsConnection.OPEN) {
      c.close(CloseFrame.REFUSE, "binary frames are not supported");
    }
  }

  @Override
  public void onWebsocketPong(WebSocket conn, Framedata f) {
    WsConnection c = conn.getAttachment();
    if (c != null) {
      c.ponged();
    }
  }

  /** The pong goes out under the monitor that the writer's direct writes hold: between frames. */
  @Override
  public void onWebsocketPing(WebSocket conn, Framedata f) {
    synchronized (conn) {
      super.onWebsocketPing(conn, f);
    }
  }

  @Override
  public void onClose(WebSocket conn, int code, String reason, boolean remote) {
    WsConnection c = conn.getAttachment();
    if (c != null) {
      c.ended();
    }
  }

  @Override
  public void onError(WebSocket conn, Exception ex) {
    if (conn == null) {
      if (!bound.isDone()) {
        bound.completeExceptionally(ex);
      } else {
        log.error("WebSocket server error", ex);
      }
      return;
    }
    log.debug("WebSocket error on {}", conn.<Object>getAttachment(), ex);
  }

  /** Called once per connection when its socket closes. */
  void forget(WsConnection c) {
    all.remove(c);
    release(c);
  }

  WebSocketStats stats() {
    return new WebSocketStats(
        openNow.get(),
        opened.sum(),
        rejected.sum(),
        framesSent.sum(),
        writes.sum(),
        bytesSent.sum());
  }

  long maxBufferedBytes() {
    long max = 0;
    for (WsConnection c : all) {
      max = Math.max(max, c.bufferedBytes());
    }
    return max;
  }

  long bufferedBytes() {
    long n = 0;
    for (WsConnection c : all) {
      n += c.bufferedBytes();
    }
    return n;
  }
}
