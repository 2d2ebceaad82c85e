package io.watchcast.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.watchcast.ConnectionManager;
import io.watchcast.Throttle;
import io.watchcast.TopicOptions;
import io.watchcast.collect.FilePipeline;
import io.watchcast.sse.SseTransport;
import io.watchcast.websocket.WebSocketTransport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The bundled dashboard: a live HUD over a directory. Wires the pieces the way an application
 * would: one hub, a {@link FilePipeline} with four collectors, the WebSocket transport on its own
 * port, and the SSE transport mounted into a Jetty server that also serves the page.
 *
 * <pre>
 * java -jar examples/target/watchcast-example.jar [--dir PATH] [--demo] [--port 8080] [--ws-port 8081]
 * </pre>
 *
 * <p>Not thread-safe: start and close it from one thread.
 */
public final class DashboardServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * How to run it.
   *
   * @param sample write sample content into {@code dir} (files that exist are kept)
   * @param demo write sample content and keep changing it, so the page is seen to move
   * @param clientOptions extra options for {@code Watchcast.connect} in the page (tests shorten
   *     timers with it)
   */
  public record Options(
      Path dir,
      boolean sample,
      boolean demo,
      String host,
      int httpPort,
      int wsPort,
      boolean websocket,
      boolean sse,
      Map<String, Object> clientOptions,
      SSLContext tls) {
    public Options {
      Objects.requireNonNull(dir, "dir");
      Objects.requireNonNull(host, "host");
      clientOptions = Map.copyOf(clientOptions);
    }

    /** Without TLS: the page over http:, WebSocket over ws:. */
    public Options(
        Path dir,
        boolean sample,
        boolean demo,
        String host,
        int httpPort,
        int wsPort,
        boolean websocket,
        boolean sse,
        Map<String, Object> clientOptions) {
      this(dir, sample, demo, host, httpPort, wsPort, websocket, sse, clientOptions, null);
    }

    public static Options defaults(Path dir) {
      return new Options(dir, false, false, "127.0.0.1", 8080, 8081, true, true, Map.of());
    }
  }

  private final Options options;
  private final ConnectionManager hub;
  private final FilePipeline pipeline;
  private final SystemStats stats;
  private final WebSocketTransport websocket;
  private final SseTransport sse;
  private final Server http;
  private final DemoContent demo;

  private DashboardServer(Options options) throws IOException {
    this.options = options;
    this.hub =
        ConnectionManager.builder()
            .topic("stats", TopicOptions.of(Throttle.latest(Duration.ofMillis(500))))
            .build();
    this.demo = new DemoContent(options.dir());
    this.pipeline =
        FilePipeline.builder(hub)
            .root(options.dir())
            .collector(new MemoryCollector())
            .collector(new SkillsCollector())
            .collector(
                new LogsCollector(), TopicOptions.of(Throttle.batch(Duration.ofMillis(100), 500)))
            .build();
    this.stats = new SystemStats(hub);
    this.websocket = options.websocket() ? webSocket(options) : null;
    this.sse = SseTransport.builder(hub).staticClasspath("io/watchcast/examples/web/").build();
    this.http = new Server();
    ServerConnector connector =
        options.tls() == null ? new ServerConnector(http) : httpsConnector(http, options.tls());
    connector.setHost(options.host());
    connector.setPort(options.httpPort());
    connector.setIdleTimeout(Duration.ofMinutes(2).toMillis()); // longer than the SSE heartbeat
    http.addConnector(connector);
    http.setHandler(new Handler.Sequence(new ConfigHandler(), sse.jettyHandler()));
  }

  private WebSocketTransport webSocket(Options options) {
    WebSocketTransport.Builder b =
        WebSocketTransport.builder(hub).bindAddress(options.host()).port(options.wsPort());
    if (options.tls() != null) {
      b.tls(options.tls());
    }
    return b.build();
  }

  /**
   * HTTPS for the page, the snapshots and SSE: h2 by ALPN (so a browser's streams share one
   * connection), HTTP/1.1 for clients without it. The Host header is not checked against the
   * certificate, so the page also loads by IP address.
   */
  private static ServerConnector httpsConnector(Server server, SSLContext tls) {
    HttpConfiguration config = new HttpConfiguration();
    config.setSendServerVersion(false);
    SecureRequestCustomizer secure = new SecureRequestCustomizer();
    secure.setSniHostCheck(false);
    config.addCustomizer(secure);
    HttpConnectionFactory http1 = new HttpConnectionFactory(config);
    HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(config);
    ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
    alpn.setDefaultProtocol(http1.getProtocol());
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setSslContext(tls);
    return new ServerConnector(
        server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2, http1);
  }

  /** Starts everything, or closes what started and throws. */
  public static DashboardServer start(Options options) throws IOException {
    DashboardServer server = new DashboardServer(options);
    try {
      server.begin();
      return server;
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  private void begin() throws IOException {
    Files.createDirectories(options.dir());
    if (options.sample() || options.demo()) {
      demo.create();
    }
    pipeline.start();
    stats.start();
    if (websocket != null) {
      websocket.start();
    }
    try {
      http.start();
    } catch (Exception e) {
      throw new IOException("could not start the HTTP server on port " + options.httpPort(), e);
    }
    if (options.demo()) {
      demo.animate();
    }
  }

  /** The page's address. */
  public String url() {
    return (options.tls() == null ? "http://" : "https://") + hostForUrl() + ":" + httpPort() + "/";
  }

  public int httpPort() {
    return ((ServerConnector) http.getConnectors()[0]).getLocalPort();
  }

  /** The WebSocket port, or -1 when the WebSocket transport is off. */
  public int wsPort() {
    return websocket == null ? -1 : websocket.port();
  }

  public ConnectionManager hub() {
    return hub;
  }

  private String hostForUrl() {
    return options.host().equals("0.0.0.0") ? "localhost" : options.host();
  }

  @Override
  public void close() {
    demo.close();
    stats.close();
    pipeline.close();
    if (websocket != null) {
      websocket.close();
    }
    sse.close();
    try {
      http.stop();
    } catch (Exception ignored) {
      // stopping anyway
    }
    hub.close();
  }

  /** Serves {@code /config.json} (what the page needs to know) and the transport switches. */
  private final class ConfigHandler extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      String path = Request.getPathInContext(request);
      if (!options.sse() && path.startsWith("/events")) {
        Response.writeError(request, response, callback, 503, "SSE is turned off");
        return true;
      }
      if (!"/config.json".equals(path)) {
        return false;
      }
      Map<String, Object> config = new LinkedHashMap<>();
      config.put("dir", options.dir().toAbsolutePath().toString());
      // The page learns the WebSocket address from here, for whatever host name it used.
      String host = Request.getServerName(request);
      int wsPort = websocket == null ? options.wsPort() : websocket.port();
      String scheme = options.tls() == null ? "ws://" : "wss://";
      config.put("websocketUrl", scheme + bracket(host) + ":" + wsPort + "/ws");
      List<String> transports = new ArrayList<>(List.of("websocket", "sse", "polling"));
      config.put("transports", transports);
      config.put("client", options.clientOptions());
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      Content.Sink.write(response, true, JSON.writeValueAsString(config), callback);
      return true;
    }

    private String bracket(String host) {
      return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
    }
  }

  // ---------------------------------------------------------------------------------------------

  public static void main(String[] args) throws Exception {
    Path dir = null;
    boolean demo = false;
    String host = "127.0.0.1";
    int port = 8080;
    int wsPort = 8081;
    Path keystore = null;
    String password = System.getenv("WATCHCAST_TLS_PASSWORD");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--dir" -> dir = Path.of(value(args, ++i, "--dir"));
        case "--demo" -> demo = true;
        case "--host" -> host = value(args, ++i, "--host");
        case "--port" -> port = Integer.parseInt(value(args, ++i, "--port"));
        case "--ws-port" -> wsPort = Integer.parseInt(value(args, ++i, "--ws-port"));
        case "--tls-keystore" -> keystore = Path.of(value(args, ++i, "--tls-keystore"));
        case "--tls-password" -> password = value(args, ++i, "--tls-password");
        case "-h", "--help" -> {
          System.out.println(
              "usage: java -jar watchcast-example.jar [--dir PATH] [--demo] [--host 127.0.0.1]"
                  + " [--port 8080] [--ws-port 8081]\n"
                  + "       [--tls-keystore server.p12 [--tls-password PW]]\n"
                  + "  without --dir, a demo directory with sample content is created;\n"
                  + "  with --tls-keystore (PKCS12; password also from WATCHCAST_TLS_PASSWORD),\n"
                  + "  the page is served over https (HTTP/2) and WebSocket over wss.");
          return;
        }
        default -> {
          System.err.println("unknown option " + args[i] + " (try --help)");
          System.exit(2);
        }
      }
    }
    SSLContext tls = null;
    if (keystore != null) {
      try {
        tls = loadKeyStore(keystore, password);
      } catch (Exception e) {
        System.err.println(
            "cannot use --tls-keystore "
                + keystore
                + ": "
                + e.getMessage()
                + " (a PKCS12 file with a private key; its password from --tls-password or"
                + " WATCHCAST_TLS_PASSWORD)");
        System.exit(2);
      }
    } else if (password != null && Arrays.asList(args).contains("--tls-password")) {
      System.err.println("--tls-password needs --tls-keystore");
      System.exit(2);
    }
    boolean sample = dir == null;
    if (sample) {
      dir = Files.createTempDirectory("watchcast-demo");
    }
    Options options = new Options(dir, sample, demo, host, port, wsPort, true, true, Map.of(), tls);
    DashboardServer server = start(options);
    System.out.println("Watchcast dashboard: " + server.url());
    System.out.println("Watching " + dir.toAbsolutePath() + (options.demo() ? " (demo)" : ""));
    System.out.println("WebSocket on port " + server.wsPort() + "; Ctrl-C to stop.");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stop.countDown();
                }));
    stop.await();
  }

  /** A server SSLContext from a PKCS12 key store (the key's password is the store's). */
  static SSLContext loadKeyStore(Path file, String password) throws Exception {
    char[] pw = password == null ? new char[0] : password.toCharArray();
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    try (java.io.InputStream in = Files.newInputStream(file)) {
      ks.load(in, pw);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new java.io.FileNotFoundException("no such file");
    }
    boolean hasKey = false;
    for (String alias : java.util.Collections.list(ks.aliases())) {
      hasKey |= ks.isKeyEntry(alias);
    }
    if (!hasKey) {
      throw new java.security.KeyStoreException("it holds no private key");
    }
    javax.net.ssl.KeyManagerFactory kmf =
        javax.net.ssl.KeyManagerFactory.getInstance(
            javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, pw);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), null, null);
    return context;
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      System.err.println(option + " needs a value");
      System.exit(2);
    }
    return args[i];
  }
}
