package io.watchcast.sse;

import io.watchcast.ConnectionManager;
import io.watchcast.Limits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The Server-Sent Events transport: live topic streams, REST snapshots for polling, an optional
 * publish endpoint, static files and the browser client, on Jetty 12 (HTTP/1.1 and HTTP/2 on one
 * port: h2c in cleartext, h2 with {@link Builder#tls}).
 *
 * <pre>{@code
 * try (SseTransport sse = SseTransport.builder(hub).port(8080).staticFiles(Path.of("web")).build()) {
 *   sse.start();
 *   // browsers: new EventSource("/events?topic=stats&topic=logs")
 * }
 * }</pre>
 *
 * <h2>Endpoints (paths configurable)</h2>
 *
 * <ul>
 *   <li>{@code GET /events?topic=a&topic=b} — {@code text/event-stream}; {@code topic=*} for all.
 *       Resume with {@code Last-Event-ID} (header) or {@code ?lastEventId=} (query).
 *   <li>{@code GET /api/topics} — every topic with its id, epoch and subscribers.
 *   <li>{@code GET /api/topics/{topic}} — the snapshot, with {@code ETag}; {@code If-None-Match}
 *       answers 304.
 *   <li>{@code POST /api/topics/{topic}?type=update} — publish a JSON body; off by default.
 *   <li>{@code GET /watchcast.js} — the browser client, when it is on the classpath.
 *   <li>anything else — static files, if configured.
 * </ul>
 *
 * <p>Either {@link #start()} it on its own Jetty server, or mount {@link #jettyHandler()} into a
 * server of yours; not both. Constructing it starts no thread; {@link #start()} does.
 *
 * <p>Thread-safe. {@link #close()} is idempotent: it ends every stream (a final comment, or an
 * abort for a stalled one) and stops the server it started. It does not close the hub.
 */
public final class SseTransport implements AutoCloseable {

  private final Settings settings;
  private final WatchcastHandler handler;
  private Server server;
  private ServerConnector connector;
  private boolean mounted;
  private boolean closed;

  private SseTransport(Settings settings) {
    this.settings = settings;
    this.handler = new WatchcastHandler(settings);
  }

  /** A builder for a transport that serves {@code hub}. */
  public static Builder builder(ConnectionManager hub) {
    return new Builder(hub);
  }

  /**
   * Binds the address and port and starts serving, on a Jetty server of its own.
   *
   * @throws IOException if the port cannot be bound
   * @throws IllegalStateException if already started, closed, or mounted via {@link
   *     #jettyHandler()}
   */
  public synchronized SseTransport start() throws IOException {
    if (closed) {
      throw new IllegalStateException("transport is closed");
    }
    if (mounted) {
      throw new IllegalStateException(
          "jettyHandler() was taken to mount in your own server; start that server instead");
    }
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    QueuedThreadPool pool =
        new QueuedThreadPool(settings.maxThreads, Math.min(4, settings.maxThreads));
    pool.setName("watchcast-sse");
    Server s = new Server(pool);
    HttpConfiguration config = new HttpConfiguration();
    config.setSendServerVersion(false);
    config.setRequestHeaderSize(settings.maxRequestHeaderBytes);
    HttpConnectionFactory http1 = new HttpConnectionFactory(config);
    ServerConnector c;
    if (settings.tls != null) {
      SecureRequestCustomizer secure = new SecureRequestCustomizer();
      // One SSLContext, one identity: the Host header routes nothing here, so a request by IP
      // address or by an alias the certificate does not name is served, not refused with 400.
      secure.setSniHostCheck(false);
      config.addCustomizer(secure);
      SslContextFactory.Server ssl = new SslContextFactory.Server();
      ssl.setSslContext(settings.tls);
      if (settings.http2) {
        // ALPN picks h2 for clients that offer it (every browser), HTTP/1.1 for the rest.
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(config);
        h2.setMaxConcurrentStreams(settings.http2MaxStreams);
        // No explicit list: Jetty names the protocols of the factories after it by their ALPN
        // names ("h2", "http/1.1"); a client that offers no ALPN gets HTTP/1.1.
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
        alpn.setDefaultProtocol(http1.getProtocol());
        c =
            new ServerConnector(
                s, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2, http1);
      } else {
        c = new ServerConnector(s, new SslConnectionFactory(ssl, http1.getProtocol()), http1);
      }
    } else if (settings.http2) {
      HTTP2CServerConnectionFactory h2c = new HTTP2CServerConnectionFactory(config);
      h2c.setMaxConcurrentStreams(settings.http2MaxStreams);
      c = new ServerConnector(s, http1, h2c);
    } else {
      c = new ServerConnector(s, http1);
    }
    c.setHost(settings.host);
    c.setPort(settings.port);
    if (settings.sendBufferBytes > 0) {
      c.setAcceptedSendBufferSize(settings.sendBufferBytes);
    }
    c.setIdleTimeout(Math.max(settings.writeTimeout.toMillis(), settings.heartbeat.toMillis() * 2));
    s.addConnector(c);
    s.setHandler(handler);
    s.setStopTimeout(0); // streams are ended by close() first; idle keep-alives need no wait
    try {
      s.start();
    } catch (IOException e) {
      stopQuietly(s);
      throw e;
    } catch (Exception e) {
      stopQuietly(s);
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException("could not start the SSE server: " + e.getMessage(), e);
    }
    server = s;
    connector = c;
    return this;
  }

  private static void stopQuietly(Server s) {
    try {
      s.stop();
    } catch (Exception ignored) {
      // best effort
    }
  }

  /**
   * The port the transport listens on (the real one when configured with 0).
   *
   * @throws IllegalStateException if not started
   */
  public synchronized int port() {
    if (connector == null) {
      throw new IllegalStateException("not started");
    }
    return connector.getLocalPort();
  }

  /** The bound address and port. @throws IllegalStateException if not started */
  public synchronized InetSocketAddress address() {
    return new InetSocketAddress(settings.host, port());
  }

  /** The number of open event streams. */
  public int streamCount() {
    return handler.streamCount();
  }

  /**
   * The transport as a Jetty {@link Handler}, to mount in your own Jetty 12 server instead of
   * calling {@link #start()}. It serves its paths and passes every other request on (returns false
   * from {@code handle}), so put it first in a {@code Handler.Sequence} or wrap it around your
   * handler. Your server starts and stops it; {@link #close()} also ends its streams. Returns the
   * same handler each time.
   *
   * <p>The bind address, port, thread and HTTP/2 settings of this builder do not apply: your
   * server's connectors decide. Its idle timeout must be longer than the heartbeat.
   *
   * @throws IllegalStateException if {@link #start()} was called
   */
  public synchronized Handler jettyHandler() {
    if (server != null) {
      throw new IllegalStateException("started on its own server; jettyHandler() is for mounting");
    }
    if (settings.tls != null) {
      throw new IllegalStateException(
          "tls(...) applies to start() only; configure TLS on your own server's connectors");
    }
    mounted = true;
    return handler;
  }

  /** Ends every stream and stops the server started by {@link #start()}. Idempotent. */
  @Override
  public void close() {
    Server s;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      s = server;
    }
    handler.closeStreams();
    // Give the goodbye writes a moment to leave (stalled streams were aborted at once).
    long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    while (handler.streamCount() > 0 && System.nanoTime() < end) {
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
    }
    if (s != null) {
      stopQuietly(s);
    } else if (handler.isRunning()) {
      try {
        handler.stop();
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  @Override
  public String toString() {
    return "SseTransport(" + settings.host + ":" + settings.port + settings.eventsPath + ")";
  }

  /** The builder's values, frozen. */
  static final class Settings {
    ConnectionManager hub;
    String host = "127.0.0.1";
    int port = 0;
    String eventsPath = "/events";
    String topicsPath = "/api/topics";
    String clientScriptPath = "/watchcast.js";
    String lastEventIdParameter = "lastEventId";
    Duration heartbeat = Duration.ofSeconds(15);
    Duration retry = Duration.ofSeconds(3);
    Duration writeTimeout = Duration.ofSeconds(30);
    List<String> allowedOrigins = List.of();
    Authenticator authenticator;
    PublishAuthorizer publishAuthorizer = PublishAuthorizer.allowAll();
    String tokenCookie = "watchcast_token";
    String tokenParameter = "access_token";
    boolean publish;
    int maxPublishBytes = Limits.DEFAULT_MAX_MESSAGE_BYTES;
    int maxTopicsPerStream = 32;
    int maxStreams = 20_000;
    int maxLastEventIdLength = 8192;
    int maxRequestHeaderBytes = 16 * 1024;
    int maxBatchBytes = 64 * 1024;
    Path staticDirectory;
    String staticClasspath;
    String staticCacheControl = "no-cache";
    String clientScriptResource = "io/watchcast/watchcast.js";
    ClassLoader clientScriptLoader = SseTransport.class.getClassLoader();
    boolean http2 = true;
    int http2MaxStreams = 1024;
    SSLContext tls;
    int maxThreads = 64;
    int sendBufferBytes = DEFAULT_SEND_BUFFER_BYTES;
  }

  /** The default of {@link Builder#sendBufferBytes(int)}: 64 KiB. */
  static final int DEFAULT_SEND_BUFFER_BYTES = 64 * 1024;

  /**
   * Builds an {@link SseTransport}. Each setter may be called once; a bad value fails at once. Not
   * thread-safe.
   */
  public static final class Builder {
    private final Settings s = new Settings();
    private final List<String> set = new ArrayList<>();

    private Builder(ConnectionManager hub) {
      s.hub = Objects.requireNonNull(hub, "hub");
    }

    private void once(String name) {
      if (set.contains(name)) {
        throw new IllegalStateException(name + " was already set");
      }
      set.add(name);
    }

    /** The address to bind. Default {@code 127.0.0.1} (loopback only); {@code 0.0.0.0} for all. */
    public Builder bindAddress(String host) {
      once("bindAddress");
      s.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** The port. Default 0: any free port, reported by {@link SseTransport#port()}. */
    public Builder port(int port) {
      once("port");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0..65535, was " + port);
      }
      s.port = port;
      return this;
    }

    /** The event stream path. Default {@code /events}. */
    public Builder eventsPath(String path) {
      once("eventsPath");
      s.eventsPath = requirePath(path);
      return this;
    }

    /**
     * The REST path of topics: the list at it, one topic's snapshot below it. Default {@code
     * /api/topics}.
     */
    public Builder topicsPath(String path) {
      once("topicsPath");
      s.topicsPath = requirePath(path);
      return this;
    }

    /** Where the browser client is served. Default {@code /watchcast.js}. */
    public Builder clientScriptPath(String path) {
      once("clientScriptPath");
      s.clientScriptPath = requirePath(path);
      return this;
    }

    /**
     * How often an idle stream gets a comment line ({@code : ping}). Default 15 s; at least 10 ms.
     */
    public Builder heartbeat(Duration interval) {
      once("heartbeat");
      s.heartbeat = requireAtLeast("heartbeat", interval, Duration.ofMillis(10));
      return this;
    }

    /** The reconnection delay hinted to browsers with {@code retry:}. Default 3 s. */
    public Builder retry(Duration delay) {
      once("retry");
      s.retry = requireAtLeast("retry", delay, Duration.ZERO);
      return this;
    }

    /**
     * How long one write to a stream may make no progress before the stream is aborted (a client
     * that stopped reading). Default 30 s; at least 10 ms.
     */
    public Builder writeTimeout(Duration timeout) {
      once("writeTimeout");
      s.writeTimeout = requireAtLeast("writeTimeout", timeout, Duration.ofMillis(10));
      return this;
    }

    /**
     * Browser origins, besides the server's own, that may use the streams and the API (for example
     * {@code https://dash.example.com}; {@code *} for any). Default none: same origin only. A
     * request with another {@code Origin} is refused with 403 {@code origin_not_allowed}.
     */
    public Builder allowedOrigins(String... origins) {
      once("allowedOrigins");
      List<String> list = new ArrayList<>();
      for (String o : origins) {
        if (!"*".equals(o) && CorsPolicy.normalize(o) == null) {
          throw new IllegalArgumentException("not an origin (scheme://host[:port]): " + o);
        }
        list.add(o);
      }
      s.allowedOrigins = List.copyOf(list);
      return this;
    }

    /**
     * Authenticates the streams and the REST endpoints. Default: none (everyone, no principal).
     * Required to enable the publish endpoint.
     */
    public Builder authenticator(Authenticator authenticator) {
      once("authenticator");
      s.authenticator = Objects.requireNonNull(authenticator, "authenticator");
      return this;
    }

    /** The cookie that may carry the token. Default {@code watchcast_token}; null for none. */
    public Builder tokenCookie(String name) {
      once("tokenCookie");
      s.tokenCookie = name;
      return this;
    }

    /**
     * The query parameter that may carry the token (a browser {@code EventSource} cannot set
     * headers). Default {@code access_token}; null for none.
     */
    public Builder tokenParameter(String name) {
      once("tokenParameter");
      s.tokenParameter = name;
      return this;
    }

    /**
     * Enables {@code POST /api/topics/{topic}}: publish a JSON body (at most {@code maxBodyBytes})
     * as the data of an {@code update} (or {@code ?type=}). Off by default; needs an {@link
     * #authenticator}.
     */
    public Builder publishEndpoint(boolean enabled) {
      once("publishEndpoint");
      s.publish = enabled;
      return this;
    }

    /** Who may publish. Default: any authenticated principal. */
    public Builder publishAuthorizer(PublishAuthorizer authorizer) {
      once("publishAuthorizer");
      s.publishAuthorizer = Objects.requireNonNull(authorizer, "authorizer");
      return this;
    }

    /** The largest publish body. Default 64 KiB; past it: 413 {@code payload_too_large}. */
    public Builder maxPublishBytes(int bytes) {
      once("maxPublishBytes");
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxPublishBytes must be positive, was " + bytes);
      }
      s.maxPublishBytes = bytes;
      return this;
    }

    /**
     * The most topics one stream may name ({@code *} counts as one); also the most topics its event
     * id records. Default 32; past it: 400 {@code too_many_topics}.
     */
    public Builder maxTopicsPerStream(int max) {
      once("maxTopicsPerStream");
      if (max <= 0 || max > 256) {
        throw new IllegalArgumentException("maxTopicsPerStream must be 1..256, was " + max);
      }
      s.maxTopicsPerStream = max;
      return this;
    }

    /** The most streams open at once. Default 20,000; past it: 503 {@code too_many_streams}. */
    public Builder maxStreams(int max) {
      once("maxStreams");
      if (max <= 0) {
        throw new IllegalArgumentException("maxStreams must be positive, was " + max);
      }
      s.maxStreams = max;
      return this;
    }

    /** Serves files under {@code directory} for paths the transport does not own. */
    public Builder staticFiles(Path directory) {
      once("staticFiles");
      Objects.requireNonNull(directory, "directory");
      if (!Files.isDirectory(directory)) {
        throw new IllegalArgumentException("not a directory: " + directory);
      }
      if (s.staticClasspath != null) {
        throw new IllegalStateException("staticClasspath is set; serve one root");
      }
      s.staticDirectory = directory.toAbsolutePath().normalize();
      return this;
    }

    /** Serves classpath resources under {@code prefix} (e.g. {@code "web/"}). */
    public Builder staticClasspath(String prefix) {
      once("staticClasspath");
      Objects.requireNonNull(prefix, "prefix");
      if (s.staticDirectory != null) {
        throw new IllegalStateException("staticFiles is set; serve one root");
      }
      s.staticClasspath = prefix;
      return this;
    }

    /** The {@code Cache-Control} of static files. Default {@code no-cache} (revalidate). */
    public Builder staticCacheControl(String value) {
      once("staticCacheControl");
      s.staticCacheControl = Objects.requireNonNull(value, "value");
      return this;
    }

    /**
     * Whether to speak HTTP/2 beside HTTP/1.1 on the port: h2c in cleartext, h2 (by ALPN) with
     * {@link #tls}. Default true.
     */
    public Builder http2(boolean enabled) {
      once("http2");
      s.http2 = enabled;
      return this;
    }

    /**
     * Serve HTTPS from {@link #start()}, with this context's key and certificate: HTTP/2 ("h2",
     * chosen by ALPN) and HTTP/1.1 on the same port, or HTTP/1.1 only with {@code http2(false)}.
     * Browsers speak HTTP/2 only over TLS, and only HTTP/2 lets one page hold more than six streams
     * to a host. Without it, {@code start()} serves cleartext HTTP/1.1 and h2c. The Host header is
     * not checked against the certificate (requests by IP address or alias are served). Client
     * certificates and certificate reloading need your own server: with {@code tls} set, {@link
     * SseTransport#jettyHandler()} refuses, since there your server's connectors decide.
     */
    public Builder tls(SSLContext context) {
      once("tls");
      s.tls = Objects.requireNonNull(context, "context");
      return this;
    }

    /** Concurrent HTTP/2 streams per connection. Default 1,024. */
    public Builder http2MaxStreams(int max) {
      once("http2MaxStreams");
      if (max <= 0) {
        throw new IllegalArgumentException("http2MaxStreams must be positive, was " + max);
      }
      s.http2MaxStreams = max;
      return this;
    }

    /**
     * Jetty's thread pool size: it does not grow with the number of streams. Default 64; at least
     * 8.
     */
    public Builder maxThreads(int max) {
      once("maxThreads");
      if (max < 8) {
        throw new IllegalArgumentException("maxThreads must be at least 8, was " + max);
      }
      s.maxThreads = max;
      return this;
    }

    /**
     * The send buffer of each accepted socket ({@code SO_SNDBUF}): how much the kernel holds for a
     * client that has stopped reading before the transport sees it. Linux reserves twice the value,
     * about 128 KiB of events at the default. Once it is full, events wait in the hub's bounded
     * outbox, where {@code latest} topics conflate and other topics close the stream as a slow
     * consumer (see the README): with the default that happens within about a second of a stall at
     * a few hundred KB/s; with the operating system's own buffers (autotuned to several MB on
     * Linux) only after tens of seconds, and the client then reads all that stale backlog first.
     *
     * <p>Default 64 KiB, chosen by measurement (benchmarks/results/sse-load.md, session 3): it does
     * not lower full-speed throughput to 1,000 streams. A stream's throughput is at most about
     * twice this per round trip, so a client far away on a fast link (a large replay to another
     * continent) may want more. {@code 0} leaves the operating system's default. Applies to {@link
     * SseTransport#start()} only: a server of yours sets it on its connector ({@code
     * ServerConnector.setAcceptedSendBufferSize}).
     */
    public Builder sendBufferBytes(int bytes) {
      once("sendBufferBytes");
      if (bytes != 0 && bytes < 4096) {
        throw new IllegalArgumentException(
            "sendBufferBytes must be 0 (the operating system's default) or at least 4096, was "
                + bytes);
      }
      s.sendBufferBytes = bytes;
      return this;
    }

    /** For tests: where the browser client is looked up. */
    Builder clientScript(ClassLoader loader, String resource) {
      s.clientScriptLoader = Objects.requireNonNull(loader);
      s.clientScriptResource = Objects.requireNonNull(resource);
      return this;
    }

    public SseTransport build() {
      if (s.publish && s.authenticator == null) {
        throw new IllegalStateException(
            "publishEndpoint(true) needs an authenticator(...): set one, or"
                + " Authenticator.allowAll() to accept anyone who can reach the port");
      }
      List<String> paths = List.of(s.eventsPath, s.topicsPath, s.clientScriptPath);
      if (paths.stream().distinct().count() != paths.size()
          || s.eventsPath.startsWith(s.topicsPath + "/")
          || s.clientScriptPath.startsWith(s.topicsPath + "/")) {
        throw new IllegalStateException("eventsPath, topicsPath and clientScriptPath overlap");
      }
      return new SseTransport(s);
    }

    private static String requirePath(String path) {
      Objects.requireNonNull(path, "path");
      if (!path.startsWith("/") || path.length() < 2 || path.endsWith("/")) {
        throw new IllegalArgumentException(
            "path must start with '/' and not end with one, like /events; was " + path);
      }
      return path;
    }

    private static Duration requireAtLeast(String name, Duration d, Duration min) {
      Objects.requireNonNull(d, name);
      if (d.compareTo(min) < 0) {
        throw new IllegalArgumentException(name + " must be at least " + min + ", was " + d);
      }
      return d;
    }
  }
}
