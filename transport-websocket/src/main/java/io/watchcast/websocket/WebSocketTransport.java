package io.watchcast.websocket;

import io.watchcast.ConnectionManager;
import io.watchcast.Limits;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;

/**
 * Serves a {@link ConnectionManager}'s topics over WebSocket: the hub's protocol on every text
 * frame, hardened for the open internet. Built on Java-WebSocket, which stays an implementation
 * detail: none of its types appears here.
 *
 * <pre>{@code
 * ConnectionManager hub = ConnectionManager.builder().build();
 * try (WebSocketTransport ws = WebSocketTransport.builder(hub).port(8080).build()) {
 *   ws.start();                       // binds; ws://127.0.0.1:8080/ws
 *   hub.publish("stats", Map.of("cpu", 45.2));
 *   ...
 * }
 * }</pre>
 *
 * <h2>What a client gets</h2>
 *
 * Every text frame a client sends is one protocol message, handled by the hub's {@code Session}
 * (subscribe with {@code since}/{@code epoch}, unsubscribe, ping; errors as {@code error}
 * messages). A query {@code ?topic=a&topic=b} subscribes on connect; with a single topic, {@code
 * &since=41&epoch=k3x9} resumes it (a malformed query is refused with HTTP 400).
 *
 * <h2>Limits and checks, with their defaults</h2>
 *
 * <table>
 *   <caption>Builder settings</caption>
 *   <tr><th>setting</th><th>default</th><th>past it</th></tr>
 *   <tr><td>{@link Builder#bindAddress}</td><td>127.0.0.1</td><td></td></tr>
 *   <tr><td>{@link Builder#port}</td><td>0 (ephemeral; see {@link #port()})</td><td></td></tr>
 *   <tr><td>{@link Builder#path}</td><td>{@code /ws}</td><td>HTTP 404</td></tr>
 *   <tr><td>{@code Origin}</td><td>host is localhost, 127.0.0.1, [::1], the bind address or a
 *       {@link Builder#hostNames host name}; or an {@link Builder#allowedOrigins exact origin};
 *       no {@code Origin} header (a non-browser client) is allowed</td><td>HTTP 403</td></tr>
 *   <tr><td>{@link Builder#authenticator}</td><td>everyone, anonymous</td>
 *       <td>HTTP 401 / 403</td></tr>
 *   <tr><td>{@link Builder#maxConnections}</td><td>10,000</td><td>HTTP 503</td></tr>
 *   <tr><td>{@link Builder#maxConnectionsPerAddress}</td><td>256</td><td>HTTP 429</td></tr>
 *   <tr><td>{@link Builder#maxFrameBytes} (a frame, or a fragmented message: its fragments so
 *       far)</td><td>64 KiB</td><td>close 1009</td></tr>
 *   <tr><td>binary frames</td><td>not accepted</td><td>close 1003</td></tr>
 *   <tr><td>invalid UTF-8 (text, close reason); unmasked frames, protocol errors</td><td></td>
 *       <td>close 1007; 1002</td></tr>
 *   <tr><td>{@code Upgrade: websocket}, {@code Connection: upgrade}, a {@code Sec-WebSocket-Key}
 *       of 16 bytes</td><td>required</td><td>HTTP 400</td></tr>
 *   <tr><td>{@code Sec-WebSocket-Version}</td><td>13</td><td>HTTP 426</td></tr>
 *   <tr><td>handshake size, blank line included</td><td>{@value #MAX_HANDSHAKE_BYTES} bytes</td>
 *       <td>HTTP 431</td></tr>
 *   <tr><td>{@link Builder#handshakeTimeout}</td><td>10 s</td><td>connection dropped</td></tr>
 *   <tr><td>{@link Builder#connectionLostTimeout}: WebSocket ping every interval</td><td>30 s</td>
 *       <td>no pong for 1.5 intervals: connection reset (1006)</td></tr>
 *   <tr><td>{@link Builder#closeTimeout}: from a close's start until the socket closes</td>
 *       <td>5 s</td><td>connection dropped (a slow consumer's: reset)</td></tr>
 *   <tr><td>{@link Builder#sendBufferBytes}: the kernel's send buffer of each connection</td>
 *       <td>{@value #DEFAULT_SEND_BUFFER_BYTES} bytes (Linux doubles it)</td>
 *       <td>frames wait in the hub's queue</td></tr>
 *   <tr><td>outbound queue (the hub's {@link Limits#maxQueuedBytes()})</td><td>1 MiB</td>
 *       <td>{@code latest} topics conflate; otherwise close 1008 {@code slow_consumer}</td></tr>
 *   <tr><td>client message rate, subscriptions (the hub's {@link Limits})</td><td>50/s, 256</td>
 *       <td>{@code error}; a client that keeps flooding: close 1008 {@code rate_limited}</td></tr>
 * </table>
 *
 * <p>The hub's close reasons map to close codes: {@code going_away} 1001, {@code slow_consumer} and
 * {@code rate_limited} (and any other) 1008, with {@code "<code>: <message>"} as the close reason.
 * {@link #close()} sends 1001 to every client. TCP_NODELAY is on; permessage-deflate is never
 * negotiated.
 *
 * <p>After its close frame (or an HTTP refusal) the server acts on nothing the client sends; it
 * half-closes the socket and discards the client's input until the client closes its side or {@link
 * Builder#closeTimeout} runs out, so that the close frame arrives rather than being lost to the
 * reset the kernel sends when a socket is closed with unread input.
 *
 * <p>A slow consumer's close is not queued behind its backlog: what still waits for it in the
 * transport is dropped (but the rest of a frame the socket has partly taken), so the 1008 frame
 * directly follows what the kernel's socket buffers already hold, about twice {@link
 * Builder#sendBufferBytes} plus the client's receive buffer. A client that reads it within {@link
 * Builder#closeTimeout} sees 1008 and then the end of the stream; at that timeout the connection is
 * reset, so a client still stalled reads what its own receive buffer holds and then the reset (a
 * browser reports 1006).
 *
 * <h2>Fan-out and memory</h2>
 *
 * Each message is framed once (a complete server text frame, cached on the message) and the same
 * bytes go to every connection. A connection with nothing unwritten gets its waiting frames (up to
 * {@value #MAX_BATCH_BYTES} bytes) concatenated and written straight to its socket by the writer
 * thread; a backlogged one gets them from the selector in one buffer once its previous write has
 * left. A client that stops reading therefore holds at most one batch in the socket layer plus its
 * hub queue ({@link Limits#maxQueuedBytes()}), never more, and at most the send buffer in the
 * kernel ({@link Builder#sendBufferBytes}): once that is full, the hub's queue fills, where {@code
 * latest} topics conflate and others close the connection as a slow consumer.
 *
 * <h2>Threads</h2>
 *
 * {@link #start()} starts, as daemon threads: one selector thread (accepts, reads, finishes writes
 * the socket could not take at once and pulls a backlogged connection's next batch), one writer
 * thread (writes idle connections' batches straight to their sockets), {@link
 * Builder#workerThreads} worker threads (decode frames and handshakes; run the {@link
 * Authenticator}, the hub's {@code Session.receive} and so its {@code Authorizer}; one client is
 * always served by the same worker, so its messages are handled in order), a housekeeping timer
 * (pings, dead peers, timeouts) and a thread that finishes closing sockets. The hub's publisher
 * threads only hand connections to the writer. No user code runs under a lock of ours.
 *
 * <p>Thread-safe. A transport starts once; {@link #close()} is idempotent.
 */
public final class WebSocketTransport implements AutoCloseable {

  /**
   * The largest opening handshake (request line and headers, up to and including the blank line) a
   * client may send; a larger one is refused with HTTP 431.
   */
  public static final int MAX_HANDSHAKE_BYTES = 16 * 1024;

  /** The most bytes of frames handed to the socket layer per connection at once. */
  public static final int MAX_BATCH_BYTES = 64 * 1024;

  /** The default of {@link Builder#sendBufferBytes}: SO_SNDBUF of each connection's socket. */
  public static final int DEFAULT_SEND_BUFFER_BYTES = 128 * 1024;

  final ConnectionManager hub;
  final InetSocketAddress bindAddress;
  final String path;
  final OriginPolicy originPolicy;
  final Authenticator authenticator;
  final int maxConnections;
  final int maxConnectionsPerAddress;
  final int maxFrameBytes;
  final int workerThreads;
  final Duration connectionLostTimeout;
  final Duration handshakeTimeout;
  final Duration closeTimeout;
  final int sendBufferBytes;
  final SSLContext tls;

  private final Object lock = new Object();
  private Engine engine; // guarded by lock
  private boolean started; // guarded by lock
  private volatile boolean closed;

  private WebSocketTransport(Builder b) {
    this.hub = b.hub;
    this.bindAddress = new InetSocketAddress(b.bindAddress, b.port);
    this.path = b.path;
    Set<String> hosts = new LinkedHashSet<>(b.hostNames);
    if (!b.bindAddress.isAnyLocalAddress()) {
      hosts.add(OriginPolicy.normalizeHost(b.bindAddress.getHostAddress()));
    }
    this.originPolicy = new OriginPolicy(b.allowAnyOrigin, hosts, b.allowedOrigins);
    this.authenticator = b.authenticator;
    this.maxConnections = b.maxConnections;
    this.maxConnectionsPerAddress = b.maxConnectionsPerAddress;
    this.maxFrameBytes = b.maxFrameBytes;
    this.workerThreads = b.workerThreads;
    this.connectionLostTimeout = b.connectionLostTimeout;
    this.handshakeTimeout = b.handshakeTimeout;
    this.closeTimeout = b.closeTimeout;
    this.sendBufferBytes = b.sendBufferBytes;
    this.tls = b.tls;
  }

  /** A builder for a transport serving {@code hub}. */
  public static Builder builder(ConnectionManager hub) {
    return new Builder(hub);
  }

  /**
   * Binds and starts serving; returns once the port is bound.
   *
   * @throws IOException if the address cannot be bound (in use, not local)
   * @throws IllegalStateException if called twice or after {@link #close()}
   */
  public void start() throws IOException {
    Engine e;
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("transport is closed");
      }
      if (started) {
        throw new IllegalStateException("transport already started; a transport starts once");
      }
      started = true;
      e = new Engine(this);
      engine = e;
    }
    e.start();
    try {
      e.bound.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException ex) {
      close();
      Throwable cause = ex.getCause();
      throw new IOException("cannot bind " + bindAddress + ": " + cause.getMessage(), cause);
    } catch (TimeoutException ex) {
      close();
      throw new IOException("binding " + bindAddress + " did not finish within 30 s", ex);
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      close();
      throw new IOException("interrupted while binding " + bindAddress, ex);
    }
    try {
      e.startHousekeeping();
    } catch (IOException ex) {
      close();
      throw ex;
    }
  }

  /**
   * The port the transport listens on: the real one when it was built with port 0.
   *
   * @throws IllegalStateException before {@link #start()}
   */
  public int port() {
    return started().getPort();
  }

  /** The path clients connect to, such as {@code /ws}. */
  public String path() {
    return path;
  }

  /**
   * The URI a client on this machine connects to, such as {@code ws://127.0.0.1:8080/ws}.
   *
   * @throws IllegalStateException before {@link #start()}
   */
  public String uri() {
    String host = bindAddress.getAddress().isAnyLocalAddress() ? "127.0.0.1" : hostLiteral();
    return (tls != null ? "wss://" : "ws://") + host + ":" + port() + path;
  }

  private String hostLiteral() {
    String h = bindAddress.getAddress().getHostAddress();
    return h.indexOf(':') >= 0 ? "[" + h + "]" : h;
  }

  /** Counters since start; zeros before. */
  public WebSocketStats stats() {
    Engine e;
    synchronized (lock) {
      e = engine;
    }
    return e == null ? new WebSocketStats(0, 0, 0, 0, 0, 0) : e.stats();
  }

  /** Bytes handed to the socket layer and not yet written, over all connections. For tests. */
  long bufferedBytes() {
    return started().bufferedBytes();
  }

  /** The most bytes any one connection has in the socket layer, not yet written. For tests. */
  long maxBufferedBytesPerConnection() {
    return started().maxBufferedBytes();
  }

  /** Closed connections' sockets still lingering (a slow consumer's until its reset). For tests. */
  int socketsLingering() {
    return started().lingerer.lingering();
  }

  private Engine started() {
    synchronized (lock) {
      if (engine == null) {
        throw new IllegalStateException("transport not started; call start() first");
      }
      return engine;
    }
  }

  /**
   * Stops accepting, sends close 1001 (going away) to every client, waits briefly for those frames
   * to leave, then drops what is left and stops the transport's threads. Idempotent. The hub is not
   * closed: it belongs to the caller.
   */
  @Override
  public void close() {
    Engine e;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      e = engine;
    }
    if (e != null) {
      e.shutdown();
    }
  }

  @Override
  public String toString() {
    Engine e;
    synchronized (lock) {
      e = engine;
    }
    return "WebSocketTransport(" + (e == null ? bindAddress + path : uri()) + ")";
  }

  /**
   * Builds a {@link WebSocketTransport}. Each setting may be set once; a bad value fails at once.
   * Not thread-safe.
   */
  public static final class Builder {
    private final ConnectionManager hub;
    private final Set<String> touched = new LinkedHashSet<>();
    private InetAddress bindAddress;
    private int port;
    private String path = "/ws";
    private boolean allowAnyOrigin;
    private final Set<String> hostNames =
        new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "[::1]"));
    private final Set<String> allowedOrigins = new LinkedHashSet<>();
    private Authenticator authenticator = Authenticator.anonymous();
    private int maxConnections = 10_000;
    private int maxConnectionsPerAddress = 256;
    private int maxFrameBytes = 64 * 1024;
    private int workerThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private Duration connectionLostTimeout = Duration.ofSeconds(30);
    private Duration handshakeTimeout = Duration.ofSeconds(10);
    private Duration closeTimeout = Duration.ofSeconds(5);
    private int sendBufferBytes = DEFAULT_SEND_BUFFER_BYTES;
    private SSLContext tls;

    private Builder(ConnectionManager hub) {
      this.hub = Objects.requireNonNull(hub, "hub");
      try {
        this.bindAddress = InetAddress.getByName("127.0.0.1");
      } catch (UnknownHostException e) {
        throw new AssertionError(e);
      }
    }

    private void once(String setting) {
      if (!touched.add(setting)) {
        throw new IllegalStateException(setting + " was already set");
      }
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }

    /**
     * The local address to listen on: an IP literal or a name. Default {@code 127.0.0.1} (this
     * machine only); {@code 0.0.0.0} listens on every interface.
     *
     * @throws IllegalArgumentException if the name does not resolve
     */
    public Builder bindAddress(String host) {
      once("bindAddress");
      Objects.requireNonNull(host, "host");
      try {
        this.bindAddress = InetAddress.getByName(host);
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("bindAddress '" + host + "' does not resolve", e);
      }
      return this;
    }

    /** The port, 0 to 65535. Default 0: an ephemeral port, reported by {@link #port()}. */
    public Builder port(int port) {
      once("port");
      require(port >= 0 && port <= 65535, "port must be 0 to 65535, was " + port);
      this.port = port;
      return this;
    }

    /** The path clients connect to. Default {@code /ws}. Must start with {@code /}, no query. */
    public Builder path(String path) {
      once("path");
      Objects.requireNonNull(path, "path");
      require(
          path.startsWith("/") && path.indexOf('?') < 0 && path.indexOf('#') < 0,
          "path must start with '/' and have no query or fragment, was '" + path + "'");
      this.path = path;
      return this;
    }

    /**
     * Host names the transport is served under, added to the default localhost names and bind
     * address: a browser {@code Origin} whose host is one of them is accepted, on any scheme and
     * port. For example {@code hostNames("dash.example.com")}.
     */
    public Builder hostNames(String... names) {
      once("hostNames");
      for (String n : names) {
        Objects.requireNonNull(n, "host name");
        require(!n.isBlank() && n.indexOf('/') < 0, "not a host name: '" + n + "'");
        hostNames.add(OriginPolicy.normalizeHost(n));
      }
      return this;
    }

    /**
     * Exact origins accepted besides the host names, such as {@code https://app.example.com} or
     * {@code http://localhost:3000} (scheme, host and port as a browser sends them).
     */
    public Builder allowedOrigins(String... origins) {
      once("allowedOrigins");
      for (String o : origins) {
        Objects.requireNonNull(o, "origin");
        require(o.contains("://"), "an origin is scheme://host[:port], was '" + o + "'");
        allowedOrigins.add(OriginPolicy.normalizeOrigin(o));
      }
      return this;
    }

    /**
     * Accepts every {@code Origin}: turns off the protection against cross-site WebSocket
     * hijacking. Only for servers that authenticate with something a foreign page cannot send (not
     * cookies).
     */
    public Builder allowAnyOrigin() {
      once("allowAnyOrigin");
      this.allowAnyOrigin = true;
      return this;
    }

    /** Decides who may connect. Default {@link Authenticator#anonymous()}. */
    public Builder authenticator(Authenticator authenticator) {
      once("authenticator");
      this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
      return this;
    }

    /** Open connections at most; more are refused with HTTP 503. Default 10,000. */
    public Builder maxConnections(int max) {
      once("maxConnections");
      require(max > 0, "maxConnections must be positive, was " + max);
      this.maxConnections = max;
      return this;
    }

    /** Open connections per remote IP address; more are refused with HTTP 429. Default 256. */
    public Builder maxConnectionsPerAddress(int max) {
      once("maxConnectionsPerAddress");
      require(max > 0, "maxConnectionsPerAddress must be positive, was " + max);
      this.maxConnectionsPerAddress = max;
      return this;
    }

    /**
     * The largest client frame, and the largest fragmented message, in payload bytes; a larger one
     * closes the connection with 1009 (a fragmented message as soon as its fragments so far pass
     * it). Default 65,536.
     */
    public Builder maxFrameBytes(int max) {
      once("maxFrameBytes");
      require(max >= 125, "maxFrameBytes must be at least 125, was " + max);
      this.maxFrameBytes = max;
      return this;
    }

    /** Threads decoding client frames. Default: the number of processors. */
    public Builder workerThreads(int threads) {
      once("workerThreads");
      require(threads > 0 && threads <= 256, "workerThreads must be 1 to 256, was " + threads);
      this.workerThreads = threads;
      return this;
    }

    /**
     * How often to ping each client with a WebSocket ping frame; a client that has not answered
     * with a pong for 1.5 intervals is dropped, with a TCP reset (checked every housekeeping tick:
     * a second, or a twentieth of the interval when shorter, and never later than 1.5 intervals).
     * Whole seconds; {@link Duration#ZERO} turns dead peer detection off. Default 30 s.
     */
    public Builder connectionLostTimeout(Duration interval) {
      once("connectionLostTimeout");
      Objects.requireNonNull(interval, "interval");
      require(
          !interval.isNegative() && interval.toNanos() % 1_000_000_000L == 0,
          "connectionLostTimeout must be whole seconds (or zero to disable), was " + interval);
      this.connectionLostTimeout = interval;
      return this;
    }

    /** How long a client may take to complete the opening handshake. Default 10 s. */
    public Builder handshakeTimeout(Duration timeout) {
      once("handshakeTimeout");
      this.handshakeTimeout = positive("handshakeTimeout", timeout);
      return this;
    }

    /**
     * How long a connection the server closes may take, from the close frame (or HTTP refusal)
     * being queued until the client has read it and closed its side, before the TCP connection is
     * dropped. Meanwhile the server discards what the client sends. A slow consumer's connection is
     * then reset, so that the kernel drops what it still holds for it. Default 5 s.
     */
    public Builder closeTimeout(Duration timeout) {
      once("closeTimeout");
      this.closeTimeout = positive("closeTimeout", timeout);
      return this;
    }

    /**
     * The send buffer (SO_SNDBUF) of each connection's socket: what the kernel holds for a client
     * that does not read before the transport stops writing to it. Past it, frames wait in the
     * hub's queue, where {@code latest} topics conflate and other topics close the connection as a
     * slow consumer; so this bounds how many old frames a stalled client reads when it reads again.
     * Default {@value #DEFAULT_SEND_BUFFER_BYTES}; 0 leaves the operating system's default.
     *
     * <p>Linux doubles the value (for its bookkeeping; {@code getsockopt} reports the double), caps
     * it at {@code net.core.wmem_max}, and turns off its autotuning of the send buffer for the
     * socket; without this setting a loopback or LAN connection's buffer grows to {@code
     * net.ipv4.tcp_wmem}'s maximum (4 MiB by default). A connection sends at most about twice this
     * value per round trip: 128 KiB allows about 5 MB/s at 50 ms. Raise it for distant clients that
     * need more than that; a smaller value bounds a stalled client's old frames more tightly but
     * sends bursts larger than the buffer through the selector (more CPU per delivery).
     */
    public Builder sendBufferBytes(int bytes) {
      once("sendBufferBytes");
      require(
          bytes == 0 || (bytes >= 4096 && bytes <= (64 << 20)),
          "sendBufferBytes must be 0 (the system's default) or 4096 to 67108864, was " + bytes);
      this.sendBufferBytes = bytes;
      return this;
    }

    /**
     * Serve {@code wss:} (WebSocket over TLS) with this context's key and certificate. Default none
     * (cleartext {@code ws:}). A page served over HTTPS may only open {@code wss:} connections.
     * Over TLS every frame goes through Java-WebSocket's selector and its TLS channel; the writer
     * thread's direct writes are for cleartext only, so CPU per delivery is higher (see the
     * README).
     */
    public Builder tls(SSLContext context) {
      once("tls");
      Objects.requireNonNull(context, "context");
      try {
        context.createSSLEngine(); // fails now, not at the first connection, if not initialized
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("unusable SSLContext: " + e.getMessage(), e);
      }
      this.tls = context;
      return this;
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      require(!d.isNegative() && !d.isZero(), name + " must be positive, was " + d);
      return d;
    }

    /** A transport with these settings; it binds on {@link WebSocketTransport#start()}. */
    public WebSocketTransport build() {
      return new WebSocketTransport(this);
    }
  }
}
