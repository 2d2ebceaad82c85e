package io.watchcast.sse;

import io.watchcast.CloseReason;
import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.Envelope;
import io.watchcast.RawJson;
import io.watchcast.Session;
import io.watchcast.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.NetworkChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ResourceHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.resource.Resource;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Jetty adapter: routes the transport's paths, and hands anything else to the static file
 * handler (if configured) or back to the server. Thread-safe.
 */
final class WatchcastHandler extends Handler.Wrapper {
  private static final Logger log = LoggerFactory.getLogger(WatchcastHandler.class);
  private static final String JSON = "application/json";

  private final SseTransport.Settings settings;
  private final ConnectionManager hub;
  private final CorsPolicy cors;
  private final Set<SseStream> streams = ConcurrentHashMap.newKeySet();
  private final AtomicInteger streamCount = new AtomicInteger();
  private volatile boolean stopping;
  private volatile Scheduler.Task sweep;
  private volatile WriteDispatcher dispatcher;
  private volatile byte[] clientScript;
  private volatile String clientScriptEtag;
  private volatile Resource staticBase;
  private volatile String staticRealPrefix;

  WatchcastHandler(SseTransport.Settings settings) {
    this.settings = settings;
    this.hub = settings.hub;
    this.cors = new CorsPolicy(settings.allowedOrigins);
  }

  int streamCount() {
    return streamCount.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  @Override
  protected void doStart() throws Exception {
    stopping = false;
    loadClientScript();
    if (settings.staticDirectory != null || settings.staticClasspath != null) {
      ResourceHandler files = new ResourceHandler();
      ResourceFactory factory = ResourceFactory.of(this);
      Resource base =
          settings.staticDirectory != null
              ? factory.newResource(settings.staticDirectory)
              : factory.newClassLoaderResource(settings.staticClasspath, false);
      if (base == null || !base.exists()) {
        throw new IllegalStateException(
            "static files root not found: "
                + (settings.staticDirectory != null
                    ? settings.staticDirectory
                    : "classpath:" + settings.staticClasspath));
      }
      files.setBaseResource(base);
      staticBase = base;
      String real =
          base.getRealURI() == null ? base.getURI().toString() : base.getRealURI().toString();
      staticRealPrefix = real.endsWith("/") ? real : real + "/";
      files.setDirAllowed(false);
      files.setEtags(true);
      files.setCacheControl(settings.staticCacheControl);
      files.setWelcomeFiles("index.html");
      // 0: never memory-map (watched files change under the server; a mapped file that shrinks
      // faults the reader, and on Windows a mapped file cannot be replaced).
      files.setMinMappedFileSize(0);
      setHandler(files);
    }
    super.doStart();
    dispatcher =
        new WriteDispatcher(
            getServer().getThreadPool(), Math.max(2, Runtime.getRuntime().availableProcessors()));
    scheduleSweep();
  }

  @Override
  protected void doStop() throws Exception {
    closeStreams();
    Scheduler.Task task = sweep;
    if (task != null) {
      task.cancel();
    }
    super.doStop();
  }

  /** Ends every stream with {@code going_away}: a final comment, or an abort if it is stalled. */
  void closeStreams() {
    stopping = true;
    CloseReason reason = new CloseReason(CloseReason.GOING_AWAY, "server shutting down");
    for (SseStream s : new ArrayList<>(streams)) {
      s.close(reason);
    }
  }

  /** Called exactly once per admitted stream, when it ends. */
  void removed(SseStream stream) {
    streams.remove(stream);
    streamCount.decrementAndGet();
  }

  private void scheduleSweep() {
    long heartbeat = settings.heartbeat.toNanos();
    long writeTimeout = settings.writeTimeout.toNanos();
    long tick = Math.min(heartbeat, writeTimeout) / 4;
    tick = Math.max(TimeUnit.MILLISECONDS.toNanos(20), Math.min(tick, TimeUnit.SECONDS.toNanos(1)));
    long period = tick;
    Scheduler scheduler = getServer().getScheduler();
    Runnable[] self = new Runnable[1];
    self[0] =
        () -> {
          if (!isRunning()) {
            return;
          }
          try {
            long now = System.nanoTime();
            for (SseStream s : streams) {
              s.tick(now, heartbeat, writeTimeout);
            }
          } catch (RuntimeException e) {
            log.warn("SSE sweep failed", e);
          } finally {
            if (isRunning()) {
              sweep = scheduler.schedule(self[0], period, TimeUnit.NANOSECONDS);
            }
          }
        };
    sweep = scheduler.schedule(self[0], period, TimeUnit.NANOSECONDS);
  }

  private void loadClientScript() throws IOException {
    ClassLoader loader = settings.clientScriptLoader;
    try (InputStream in = loader.getResourceAsStream(settings.clientScriptResource)) {
      if (in == null) {
        clientScript = null;
        clientScriptEtag = null;
        return;
      }
      byte[] bytes = in.readAllBytes();
      byte[] digest;
      try {
        digest = MessageDigest.getInstance("SHA-256").digest(bytes);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      StringBuilder hex = new StringBuilder("\"");
      for (int i = 0; i < 12; i++) {
        hex.append(String.format("%02x", digest[i]));
      }
      clientScriptEtag = hex.append('"').toString();
      clientScript = bytes;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Routing

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    String path = Request.getPathInContext(request);
    SseTransport.Settings s = settings;
    try {
      if (path.equals(s.eventsPath)) {
        handleEvents(request, response, callback);
        return true;
      }
      if (path.equals(s.topicsPath)) {
        handleTopicList(request, response, callback);
        return true;
      }
      if (path.startsWith(s.topicsPath + "/")) {
        handleTopic(request, response, callback, path.substring(s.topicsPath.length() + 1));
        return true;
      }
      if (path.equals(s.clientScriptPath)) {
        handleClientScript(request, response, callback);
        return true;
      }
    } catch (HttpError e) {
      sendError(request, response, callback, e);
      return true;
    }
    if (staticBase != null && escapesRoot(path)) {
      sendError(request, response, callback, new HttpError(404, "not_found", "not found"));
      return true;
    }
    return super.handle(request, response, callback);
  }

  /**
   * Whether {@code path} names, through a symbolic link, something outside the static root. Jetty
   * has already refused {@code ..} and encoded separators (ambiguous URIs are a 400); this catches
   * links, which the resource handler alone would follow.
   */
  private boolean escapesRoot(String path) {
    try {
      Resource base = staticBase;
      Resource r = base.resolve(path);
      if (r == null || !r.exists()) {
        return false; // the resource handler answers 404
      }
      if (r.isDirectory()) {
        Resource index = r.resolve("index.html");
        if (index != null && index.exists() && isOutside(index)) {
          return true;
        }
      }
      return isOutside(r);
    } catch (RuntimeException e) {
      return true;
    }
  }

  private boolean isOutside(Resource r) {
    if (!r.isAlias()) {
      return false;
    }
    java.net.URI real = r.getRealURI();
    return real == null || !(real.toString() + "/").startsWith(staticRealPrefix);
  }

  // ---------------------------------------------------------------------------------------------
  // GET /events

  private void handleEvents(Request request, Response response, Callback callback)
      throws HttpError {
    String method = request.getMethod();
    if (HttpMethod.OPTIONS.is(method)) {
      preflight(request, response, callback, "GET, OPTIONS");
      return;
    }
    requireMethod(response, method, "GET");
    String origin = checkOrigin(request);
    Optional<Object> principal = authenticate(request);
    Fields query = query(request);
    List<String> topics = new ArrayList<>();
    boolean wildcard = false;
    Set<String> seen = new LinkedHashSet<>();
    for (String value : query.getValuesOrEmpty("topic")) {
      for (String t : value.split(",", -1)) {
        if (Topics.WILDCARD.equals(t)) {
          wildcard = true;
          continue;
        }
        requireTopic(t);
        if (seen.add(t)) {
          topics.add(t);
        }
      }
    }
    if (topics.isEmpty() && !wildcard) {
      throw HttpError.badRequest(
          "missing_topic", "name at least one topic: " + settings.eventsPath + "?topic=NAME");
    }
    if (topics.size() + (wildcard ? 1 : 0) > settings.maxTopicsPerStream) {
      throw HttpError.badRequest(
          "too_many_topics",
          "at most " + settings.maxTopicsPerStream + " topics per stream; open another stream");
    }
    String lastEventId = request.getHeaders().get("Last-Event-ID");
    if (lastEventId == null || lastEventId.isEmpty()) {
      List<String> fromQuery = query.getValuesOrEmpty(settings.lastEventIdParameter);
      if (fromQuery.size() > 1) {
        throw HttpError.badRequest(
            "invalid_last_event_id", "give " + settings.lastEventIdParameter + " at most once");
      }
      lastEventId = fromQuery.isEmpty() ? null : fromQuery.get(0);
    }
    ResumeVector vector;
    try {
      vector =
          ResumeVector.parse(
              lastEventId, settings.maxTopicsPerStream, settings.maxLastEventIdLength);
    } catch (IllegalArgumentException e) {
      throw HttpError.badRequest("invalid_last_event_id", e.getMessage());
    }
    vector.retainAll(topics, wildcard);
    if (stopping || !isRunning()) {
      throw new HttpError(503, "going_away", "the server is shutting down");
    }
    if (streamCount.incrementAndGet() > settings.maxStreams) {
      streamCount.decrementAndGet();
      throw new HttpError(
          503, "too_many_streams", "the server has " + settings.maxStreams + " streams open");
    }
    SseStream stream =
        new SseStream(
            this,
            response,
            callback,
            dispatcher,
            Request.getRemoteAddr(request),
            principal,
            vector,
            settings.maxBatchBytes,
            http1Socket(request));
    Session session;
    try {
      session = hub.register(stream);
    } catch (IllegalStateException e) {
      streamCount.decrementAndGet();
      throw new HttpError(503, "going_away", "the hub is closed");
    }
    stream.attach(session);
    // Resume what the id names first, then subscribe; the hub replays or resets per topic.
    List<String> order = new ArrayList<>(topics);
    if (wildcard) {
      for (String t : vector.topics()) {
        if (!order.contains(t)) {
          order.add(t);
        }
      }
    }
    for (String t : order) {
      ResumeVector.Position p = vector.get(t);
      session.subscribe(t, p == null ? -1 : p.id(), p == null ? null : p.epoch());
    }
    if (wildcard) {
      session.subscribe(Topics.WILDCARD, -1, null);
    }
    // Everything queued so far: the replies to our subscribes. Refuse the stream on an error.
    List<EncodedMessage> initial = new ArrayList<>();
    while (session.drainTo(initial, Integer.MAX_VALUE) > 0) {
      // drain all
    }
    for (EncodedMessage m : initial) {
      if (m.type().equals("error")) {
        if (!stream.discard()) {
          return; // already ended (and answered) by a close from the hub
        }
        throw subscribeError(m);
      }
    }
    if (session.isClosed()) {
      if (!stream.discard()) {
        return;
      }
      throw new HttpError(503, "going_away", "the hub is closed");
    }
    response.setStatus(200);
    var headers = response.getHeaders();
    headers.put(HttpHeader.CONTENT_TYPE, "text/event-stream");
    headers.put(HttpHeader.CACHE_CONTROL, "no-cache, no-store");
    headers.put("X-Accel-Buffering", "no");
    corsHeaders(response, origin);
    streams.add(stream);
    if (stopping) {
      stream.close(new CloseReason(CloseReason.GOING_AWAY, "server shutting down"));
    }
    request.addFailureListener(stream::terminate);
    stream.begin(SseFrames.preamble(settings.retry), initial);
  }

  /**
   * The socket under an HTTP/1 request (also under TLS), so that aborting its stream can reset the
   * connection; null over HTTP/2, where one connection carries many streams.
   */
  private static NetworkChannel http1Socket(Request request) {
    ConnectionMetaData meta = request.getConnectionMetaData();
    if (meta.getHttpVersion().getVersion() >= HttpVersion.HTTP_2.getVersion()) {
      return null;
    }
    Object transport = meta.getConnection().getEndPoint();
    for (int i = 0; i < 4 && transport instanceof EndPoint layer; i++) {
      transport = layer.getTransport(); // TLS: the encrypted endpoint, then its socket
    }
    return transport instanceof NetworkChannel channel ? channel : null;
  }

  private static HttpError subscribeError(EncodedMessage m) {
    Envelope e = Envelope.parse(m.jsonString());
    String code = e.data() == null ? "internal" : e.data().path("code").asText("internal");
    String message = e.data() == null ? "" : e.data().path("message").asText("");
    int status =
        switch (code) {
          case "forbidden" -> 403;
          case "too_many_topics" -> 503;
          case "internal" -> 500;
          default -> 400;
        };
    return new HttpError(status, code, message);
  }

  // ---------------------------------------------------------------------------------------------
  // GET /api/topics

  private void handleTopicList(Request request, Response response, Callback callback)
      throws HttpError {
    String method = request.getMethod();
    if (HttpMethod.OPTIONS.is(method)) {
      preflight(request, response, callback, "GET, OPTIONS");
      return;
    }
    requireMethod(response, method, "GET", "HEAD");
    String origin = checkOrigin(request);
    authenticate(request);
    corsHeaders(response, origin);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    send(response, callback, 200, JSON, Snapshots.topicList(hub.topics()));
  }

  // ---------------------------------------------------------------------------------------------
  // GET / POST /api/topics/{topic}

  private void handleTopic(Request request, Response response, Callback callback, String topic)
      throws HttpError {
    String method = request.getMethod();
    if (HttpMethod.OPTIONS.is(method)) {
      preflight(
          request, response, callback, settings.publish ? "GET, POST, OPTIONS" : "GET, OPTIONS");
      return;
    }
    if (settings.publish) {
      requireMethod(response, method, "GET", "HEAD", "POST");
    } else {
      requireMethod(response, method, "GET", "HEAD");
    }
    String origin = checkOrigin(request);
    Optional<Object> principal = authenticate(request);
    requireTopic(topic);
    corsHeaders(response, origin);
    if (HttpMethod.POST.is(method)) {
      handlePublish(request, response, callback, topic, principal);
      return;
    }
    if (hub.topic(topic).isEmpty()) {
      throw new HttpError(404, "unknown_topic", "no topic '" + topic + "'");
    }
    Optional<EncodedMessage> snapshot = hub.snapshot(topic);
    if (snapshot.isEmpty()) {
      throw new HttpError(404, "no_snapshot", "topic '" + topic + "' has no message yet");
    }
    EncodedMessage snap = snapshot.get();
    String etag = Snapshots.etag(snap);
    var headers = response.getHeaders();
    headers.put(HttpHeader.ETAG, etag);
    headers.put(HttpHeader.CACHE_CONTROL, "no-cache");
    if (Snapshots.notModified(request.getHeaders().get(HttpHeader.IF_NONE_MATCH), etag)) {
      response.setStatus(304);
      response.write(true, null, callback);
      return;
    }
    byte[] body = new byte[snap.size()];
    snap.copyJsonTo(body, 0);
    send(response, callback, 200, JSON, body);
  }

  private void handlePublish(
      Request request,
      Response response,
      Callback callback,
      String topic,
      Optional<Object> principal)
      throws HttpError {
    if (principal.isEmpty()) {
      throw new HttpError(401, "unauthorized", "publishing needs credentials");
    }
    boolean allowed;
    try {
      allowed = settings.publishAuthorizer.canPublish(principal.get(), topic);
    } catch (RuntimeException e) {
      log.warn("PublishAuthorizer failed on '{}'; refusing", topic, e);
      allowed = false;
    }
    if (!allowed) {
      throw new HttpError(403, "forbidden", "not allowed to publish on '" + topic + "'");
    }
    String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    String mime = contentType == null ? "" : contentType.split(";", 2)[0].trim();
    if (!mime.equalsIgnoreCase(JSON)) {
      throw new HttpError(
          415, "unsupported_media_type", "send the data as Content-Type: application/json");
    }
    String type = "update";
    List<String> types = query(request).getValuesOrEmpty("type");
    if (types.size() > 1) {
      throw HttpError.badRequest("invalid_type", "give type at most once");
    }
    if (!types.isEmpty()) {
      type = types.get(0);
    }
    int max = settings.maxPublishBytes;
    long length = request.getLength();
    if (length > max) {
      throw new HttpError(
          413, "payload_too_large", "the body is " + length + " bytes; at most " + max);
    }
    String publishType = type;
    // BLOCKING: the publish may reach a cluster bus; Jetty then calls back on a pool thread.
    Content.Source.asByteArrayAsync(
        request,
        max,
        Promise.Invocable.from(
            Invocable.InvocationType.BLOCKING,
            (byte[] body, Throwable failure) -> {
              try {
                if (failure != null) {
                  throw new HttpError(
                      413, "payload_too_large", "the body is larger than " + max + " bytes");
                }
                RawJson data = PublishBodies.validate(body);
                boolean ok;
                try {
                  ok = hub.publish(topic, publishType, data);
                } catch (IllegalArgumentException e) {
                  throw HttpError.badRequest("invalid_type", e.getMessage());
                }
                if (!ok) {
                  throw new HttpError(503, "publish_failed", "the hub did not accept the message");
                }
                response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
                send(
                    response,
                    callback,
                    202,
                    JSON,
                    ("{\"topic\":\"" + topic + "\",\"accepted\":true}")
                        .getBytes(StandardCharsets.UTF_8));
              } catch (HttpError e) {
                sendError(request, response, callback, e);
              } catch (RuntimeException e) {
                log.error("Publish on '{}' failed", topic, e);
                sendError(
                    request, response, callback, new HttpError(500, "internal", "publish failed"));
              }
            }));
  }

  // ---------------------------------------------------------------------------------------------
  // GET /watchcast.js

  private void handleClientScript(Request request, Response response, Callback callback)
      throws HttpError {
    requireMethod(response, request.getMethod(), "GET", "HEAD");
    byte[] script = clientScript;
    String etag = clientScriptEtag;
    if (script == null) {
      throw new HttpError(
          404, "not_found", "the browser client is not on the classpath of this server");
    }
    var headers = response.getHeaders();
    headers.put(HttpHeader.ETAG, etag);
    headers.put(HttpHeader.CACHE_CONTROL, "no-cache");
    if (Snapshots.notModified(request.getHeaders().get(HttpHeader.IF_NONE_MATCH), etag)) {
      response.setStatus(304);
      response.write(true, null, callback);
      return;
    }
    send(response, callback, 200, "text/javascript; charset=utf-8", script);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private static void requireMethod(Response response, String method, String... allowed)
      throws HttpError {
    for (String a : allowed) {
      if (a.equals(method)) {
        return;
      }
    }
    response.getHeaders().put(HttpHeader.ALLOW, String.join(", ", allowed));
    throw new HttpError(
        405,
        "method_not_allowed",
        method + " is not allowed here; use " + String.join(" or ", allowed));
  }

  private static Fields query(Request request) throws HttpError {
    try {
      return Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    } catch (RuntimeException e) {
      throw HttpError.badRequest(
          "invalid_query", "the query string is not valid: " + e.getMessage());
    }
  }

  /** Returns the Origin to echo in CORS headers (null for none); refuses foreign origins. */
  private String checkOrigin(Request request) throws HttpError {
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (origin == null) {
      return null;
    }
    HttpURI uri = request.getHttpURI();
    String host = request.getHeaders().get(HttpHeader.HOST);
    if (host == null && uri.getHost() != null) {
      host = uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "");
    }
    if (!cors.allows(origin, uri.getScheme() == null ? "http" : uri.getScheme(), host)) {
      throw new HttpError(
          403, "origin_not_allowed", "origin " + shorten(origin) + " is not allowed");
    }
    return cors.isListed(origin) ? origin : null;
  }

  private void corsHeaders(Response response, String origin) {
    var headers = response.getHeaders();
    headers.add(HttpHeader.VARY, "Origin");
    if (origin != null) {
      headers.put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
      headers.put(HttpHeader.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
      headers.put(HttpHeader.ACCESS_CONTROL_EXPOSE_HEADERS, "ETag");
    }
  }

  private void preflight(Request request, Response response, Callback callback, String methods)
      throws HttpError {
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (origin == null || !cors.isListed(origin)) {
      throw new HttpError(
          403,
          "origin_not_allowed",
          "origin " + (origin == null ? "(none)" : shorten(origin)) + " is not allowed");
    }
    var headers = response.getHeaders();
    headers.put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.put(HttpHeader.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    headers.put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, methods);
    headers.put(
        HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS,
        "Authorization, Content-Type, Last-Event-ID, If-None-Match");
    headers.put(HttpHeader.ACCESS_CONTROL_MAX_AGE, "600");
    headers.add(HttpHeader.VARY, "Origin");
    response.setStatus(204);
    response.write(true, null, callback);
  }

  private Optional<Object> authenticate(Request request) throws HttpError {
    Authenticator auth = settings.authenticator;
    if (auth == null) {
      return Optional.empty();
    }
    String token = null;
    String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      token = authorization.substring(7).trim();
    }
    if (token == null && settings.tokenCookie != null) {
      for (HttpCookie c : Request.getCookies(request)) {
        if (c.getName().equals(settings.tokenCookie)) {
          token = c.getValue();
          break;
        }
      }
    }
    if (token == null && settings.tokenParameter != null) {
      List<String> values = query(request).getValuesOrEmpty(settings.tokenParameter);
      if (!values.isEmpty()) {
        token = values.get(0);
      }
    }
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    AuthRequest ar =
        new AuthRequest(
            request.getMethod(),
            Request.getPathInContext(request),
            Optional.ofNullable(token).filter(t -> !t.isEmpty()),
            Request.getRemoteAddr(request),
            Optional.ofNullable(origin));
    Optional<Object> principal;
    try {
      principal = auth.authenticate(ar);
    } catch (RuntimeException e) {
      log.error("Authenticator failed", e);
      throw new HttpError(500, "internal", "authentication failed on the server");
    }
    if (principal == null || principal.isEmpty()) {
      throw new HttpError(401, "unauthorized", "missing or invalid credentials");
    }
    return principal;
  }

  private static void send(
      Response response, Callback callback, int status, String contentType, byte[] body) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  private static void sendError(
      Request request, Response response, Callback callback, HttpError e) {
    if (response.isCommitted()) {
      callback.failed(e);
      return;
    }
    Callback then = callback;
    if (hasBody(request)
        && request.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_2) {
      // A refused request's body may be left unread, and the server then drops the connection:
      // say so, or a client reuses it and its next request (a POST is not retried) fails.
      response.getHeaders().put(HttpHeader.CONNECTION, "close");
      if (!request.getHeaders().contains(HttpHeader.EXPECT, "100-continue")) {
        // Closing with the body unread would reset the connection under the answer: discard the
        // body (bounded) first. A client that asked to continue has not sent it.
        then = UnreadBodyDrain.afterAnswer(request, callback);
      }
    }
    if (e.status == 401) {
      response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
    }
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    send(response, then, e.status, JSON, e.body());
  }

  private static boolean hasBody(Request request) {
    return request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH) > 0
        || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
  }

  /** A 400 {@code invalid_topic} naming what is wrong with {@code topic}, unless it is valid. */
  private static void requireTopic(String topic) throws HttpError {
    try {
      Topics.requireValid(topic);
    } catch (IllegalArgumentException e) {
      throw HttpError.badRequest(
          "invalid_topic", "topic '" + shorten(topic) + "': " + e.getMessage());
    }
  }

  private static String shorten(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
