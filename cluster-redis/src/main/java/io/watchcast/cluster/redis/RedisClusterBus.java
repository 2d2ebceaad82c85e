package io.watchcast.cluster.redis;

import io.watchcast.ClusterBus;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.BinaryJedisPubSub;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.SslOptions;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.exceptions.JedisNoScriptException;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * A {@link ClusterBus} over Redis: several hub processes serve the same topics with one order, one
 * history and one snapshot per topic, and a client resumes on any of them.
 *
 * <pre>{@code
 * ConnectionManager hub = ConnectionManager.builder()
 *     .clusterBus(RedisClusterBus.create("redis://localhost:6379"))
 *     .build();
 * }</pre>
 *
 * <p>Per topic, Redis holds three keys under {@code <prefix>{<topic>}:} (one hash slot per topic):
 * {@code seq} (the last id), {@code epoch} (set once, by the first publish of the topic's
 * incarnation) and {@code log}, a stream capped at about the topic's history size whose entry ids
 * are the message ids. One Lua script increments the sequence, appends to the stream and publishes
 * the message on the channel {@code <prefix>messages}, atomically, so that every node sees every
 * topic in the same order. See docs/CLUSTER.md.
 *
 * <p>Thread-safe. {@link #append} and {@link #read} block on a pooled connection (calling thread);
 * one daemon thread ({@code watchcast-redis-subscriber}), started by {@link #start}, listens to the
 * channel and reconnects with backoff when Redis goes away; the hub's {@link ClusterBus.Sink} is
 * called on it.
 */
public final class RedisClusterBus implements ClusterBus {
  private static final Logger log = LoggerFactory.getLogger(RedisClusterBus.class);

  private static final String APPEND_SCRIPT =
      String.join(
          "\n",
          "local epoch = redis.call('GET', KEYS[2])",
          "if not epoch then",
          // A new incarnation of the topic (new, or Redis lost its data): start a new stream.
          "  epoch = ARGV[7]",
          "  redis.call('DEL', KEYS[1], KEYS[3])",
          "  redis.call('SET', KEYS[2], epoch)",
          "end",
          "local id = redis.call('INCR', KEYS[1])",
          "redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], id .. '-0',"
              + " 'type', ARGV[3], 'ts', ARGV[4], 'data', ARGV[5])",
          "redis.call('PUBLISH', ARGV[1], ARGV[2] .. '\\n' .. id .. '\\n' .. epoch .. '\\n'"
              + " .. ARGV[3] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[5])",
          "return id");

  private static final String READ_SCRIPT =
      String.join(
          "\n",
          "local epoch = redis.call('GET', KEYS[2])",
          "if not epoch then return {} end",
          "local seq = tonumber(redis.call('GET', KEYS[1]) or '0')",
          "local from = ARGV[1]",
          "if epoch ~= ARGV[3] then from = '-' end",
          "local entries = redis.call('XREVRANGE', KEYS[3], '+', from, 'COUNT', ARGV[2])",
          "return {epoch, seq, entries}");

  private static final Script APPEND = new Script(APPEND_SCRIPT);
  private static final Script READ = new Script(READ_SCRIPT);

  private final HostAndPort address;
  private final String prefix;
  private final byte[] channel;
  private final long maxReconnectDelayMillis;

  /** Connecting (auth, database, TLS, protocol) and the timeouts of pooled connections. */
  private final JedisClientConfig config;

  /** The pooled connections of publishes and reads. */
  private final RedisClient client;

  private final Object lifecycle = new Object();
  private Thread subscriber; // guarded by lifecycle
  private volatile Listener listener;
  private volatile Connection subscriberConnection;
  private volatile boolean connected;
  private volatile boolean closed;

  private final LongAdder appended = new LongAdder();
  private final LongAdder appendFailures = new LongAdder();
  private final LongAdder received = new LongAdder();
  private final LongAdder reconnects = new LongAdder();

  private RedisClusterBus(Builder b) {
    this.address = b.address;
    this.prefix = b.keyPrefix;
    this.channel = (prefix + "messages").getBytes(StandardCharsets.UTF_8);
    this.maxReconnectDelayMillis = b.maxReconnectDelay.toMillis();
    this.config =
        DefaultJedisClientConfig.builder()
            .from(b.uriConfig)
            .connectionTimeoutMillis((int) b.connectTimeout.toMillis())
            .socketTimeoutMillis((int) b.timeout.toMillis())
            .build();
    // A plain pool config, not Jedis' ConnectionPoolConfig: that one tests idle connections on an
    // evictor thread every 30 s, and this bus starts no thread but its subscriber.
    GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
    pool.setMaxTotal(b.poolSize);
    pool.setMaxIdle(b.poolSize);
    pool.setMinIdle(0);
    pool.setMaxWait(b.timeout);
    pool.setJmxEnabled(false);
    // Creates no connection yet: a bus can be built while Redis is down.
    this.client =
        RedisClient.builder().hostAndPort(address).clientConfig(config).poolConfig(pool).build();
  }

  /** A bus with default settings for the Redis at {@code uri} ({@code redis://host:port/db}). */
  public static RedisClusterBus create(String uri) {
    return builder(uri).build();
  }

  /**
   * A builder for the Redis at {@code uri}: {@code redis://[[user]:password@]host[:port][/db]} or
   * {@code rediss://} for TLS.
   *
   * @throws IllegalArgumentException if {@code uri} is not such a URI
   */
  public static Builder builder(String uri) {
    return new Builder(uri);
  }

  // ---------------------------------------------------------------------------------------------
  // ClusterBus

  @Override
  public void start(Sink sink) {
    Objects.requireNonNull(sink, "sink");
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("bus is closed");
      }
      if (subscriber != null) {
        throw new IllegalStateException("bus is already started; one bus serves one hub");
      }
      subscriber = new Thread(() -> subscribeLoop(sink), "watchcast-redis-subscriber");
      subscriber.setDaemon(true);
      subscriber.start();
    }
  }

  @Override
  public long append(String topic, String type, byte[] data, long timestamp, int historySize)
      throws IOException {
    List<byte[]> keys = keys(topic);
    List<byte[]> args =
        List.of(
            channel,
            utf8(topic),
            utf8(type),
            utf8(Long.toString(timestamp)),
            data,
            utf8(Integer.toString(Math.max(1, historySize))),
            utf8(newEpoch()));
    try {
      Object id = APPEND.run(client, keys, args);
      appended.increment();
      if (!connected) {
        // Redis is back before the listener noticed: wake it from its backoff now.
        synchronized (lifecycle) {
          lifecycle.notifyAll();
        }
      }
      return (Long) id;
    } catch (JedisException | ClassCastException e) {
      appendFailures.increment();
      dropIdleConnections(e);
      throw new IOException("Redis did not take the message on '" + topic + "': " + e, e);
    }
  }

  @Override
  public Log read(String topic, String epoch, long afterId, int limit) throws IOException {
    List<byte[]> args =
        List.of(
            utf8((afterId + 1) + "-0"),
            utf8(Integer.toString(limit)),
            utf8(epoch == null ? "" : epoch));
    Object reply;
    try {
      reply = READ.run(client, keys(topic), args);
    } catch (JedisException e) {
      dropIdleConnections(e);
      throw new IOException("Could not read '" + topic + "' from Redis: " + e, e);
    }
    List<?> parts = (List<?>) reply;
    if (parts.isEmpty()) {
      return new Log(null, 0, List.of());
    }
    String clusterEpoch = string(parts.get(0));
    long seq = (Long) parts.get(1);
    List<?> entries = (List<?>) parts.get(2);
    List<Message> messages = new ArrayList<>(entries.size());
    for (int i = entries.size() - 1; i >= 0; i--) { // XREVRANGE: newest first
      List<?> entry = (List<?>) entries.get(i);
      String entryId = string(entry.get(0));
      long id = Long.parseLong(entryId.substring(0, entryId.indexOf('-')));
      List<?> fields = (List<?>) entry.get(1);
      String type = null;
      long ts = 0;
      byte[] data = null;
      for (int f = 0; f + 1 < fields.size(); f += 2) {
        String name = string(fields.get(f));
        Object value = fields.get(f + 1);
        switch (name) {
          case "type" -> type = string(value);
          case "ts" -> ts = Long.parseLong(string(value));
          case "data" -> data = (byte[]) value;
          default -> {}
        }
      }
      if (type != null && data != null) {
        messages.add(new Message(topic, id, clusterEpoch, type, ts, data));
      }
    }
    return new Log(clusterEpoch, seq, messages);
  }

  /**
   * After a broken connection, the pool's idle ones most likely broke too (Redis restarted):
   * dropping them makes the next publish open a fresh one instead of failing once per stale one.
   */
  private void dropIdleConnections(Exception e) {
    if (e instanceof JedisConnectionException && !closed) {
      try {
        client.getPool().clear();
      } catch (RuntimeException ignored) {
        // the pool is closing
      }
    }
  }

  /** Whether the subscriber connection is up now. */
  public boolean isConnected() {
    return connected;
  }

  /** A snapshot of this bus's counters. */
  public RedisBusStats stats() {
    return new RedisBusStats(
        connected, appended.sum(), appendFailures.sum(), received.sum(), reconnects.sum());
  }

  @Override
  public void close() {
    Thread t;
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      t = subscriber;
      lifecycle.notifyAll();
    }
    Listener l = listener;
    if (l != null) {
      try {
        l.unsubscribe();
      } catch (RuntimeException e) {
        // the connection is already broken: closing it below ends the loop
      }
    }
    Connection c = subscriberConnection;
    if (c != null) {
      try {
        c.close();
      } catch (RuntimeException e) {
        log.debug("Closing the subscriber connection failed", e);
      }
    }
    client.close();
    if (t != null && t != Thread.currentThread()) {
      try {
        t.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return "RedisClusterBus{" + address + ", prefix=" + prefix + "}";
  }

  // ---------------------------------------------------------------------------------------------
  // The subscriber thread

  private void subscribeLoop(Sink sink) {
    long delay = 50;
    boolean warned = false;
    while (!closed) {
      // A connection of its own, not a pooled one: close() closes it to end a subscribe that is
      // blocked reading (the read timeout is off while subscribed).
      try (Connection connection = new Connection(address, config)) {
        subscriberConnection = connection;
        if (closed) {
          return;
        }
        Listener l = new Listener(sink);
        listener = l;
        l.proceed(connection, channel); // blocks until unsubscribed or the connection breaks
        if (l.wasSubscribed) {
          delay = 50;
        }
      } catch (JedisException | IllegalStateException e) {
        if (!closed && !warned) {
          log.warn(
              "Redis at {} is unreachable ({}); publishes fail until it is back, retrying",
              address,
              e.toString());
          warned = true;
        }
      } finally {
        subscriberConnection = null;
        listener = null;
        if (connected) {
          connected = false;
          warned = false;
          dropIdleConnections(new JedisConnectionException("subscriber connection lost"));
        }
      }
      synchronized (lifecycle) {
        if (closed) {
          return;
        }
        try {
          lifecycle.wait(delay);
        } catch (InterruptedException e) {
          return;
        }
      }
      delay = Math.min(maxReconnectDelayMillis, delay * 2);
    }
  }

  private final class Listener extends BinaryJedisPubSub {
    private final Sink sink;
    volatile boolean wasSubscribed;

    Listener(Sink sink) {
      this.sink = sink;
    }

    @Override
    public void onSubscribe(byte[] ch, int count) {
      wasSubscribed = true;
      connected = true;
      reconnects.increment();
      log.info("Subscribed to Redis at {}", address);
      sink.connected();
    }

    @Override
    public void onMessage(byte[] ch, byte[] payload) {
      received.increment();
      Message m = parse(payload);
      if (m == null) {
        log.warn("Ignoring a malformed message on the Watchcast channel");
        return;
      }
      sink.message(m);
    }
  }

  /** Parses {@code topic\nid\nepoch\ntype\ntimestamp\ndata}; null when malformed. */
  static Message parse(byte[] payload) {
    int[] cuts = new int[5];
    int found = 0;
    for (int i = 0; i < payload.length && found < 5; i++) {
      if (payload[i] == '\n') {
        cuts[found++] = i;
      }
    }
    if (found < 5) {
      return null;
    }
    try {
      String topic = new String(payload, 0, cuts[0], StandardCharsets.UTF_8);
      long id = Long.parseLong(ascii(payload, cuts[0] + 1, cuts[1]));
      String epoch = ascii(payload, cuts[1] + 1, cuts[2]);
      String type = ascii(payload, cuts[2] + 1, cuts[3]);
      long ts = Long.parseLong(ascii(payload, cuts[3] + 1, cuts[4]));
      byte[] data = new byte[payload.length - cuts[4] - 1];
      System.arraycopy(payload, cuts[4] + 1, data, 0, data.length);
      if (!isName(epoch) || !isName(type) || data.length == 0) {
        return null;
      }
      return new Message(topic, id, epoch, type, ts, data);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static boolean isName(String s) {
    if (s.isEmpty() || s.length() > 64) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '_'
              || c == ':'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private List<byte[]> keys(String topic) {
    String base = prefix + "{" + topic + "}:";
    return List.of(utf8(base + "seq"), utf8(base + "epoch"), utf8(base + "log"));
  }

  /** A new epoch: 7 to 8 base-36 characters, like a hub's own. */
  static String newEpoch() {
    long bits = ThreadLocalRandom.current().nextLong() & 0xFF_FFFF_FFFFL;
    return Long.toString(bits | 0x10_0000_0000L, 36);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String string(Object o) {
    return o instanceof byte[] ? new String((byte[]) o, StandardCharsets.UTF_8) : String.valueOf(o);
  }

  private static String ascii(byte[] b, int from, int to) {
    return new String(b, from, to - from, StandardCharsets.US_ASCII);
  }

  /** A Lua script run by its SHA, loaded again when Redis does not have it (after a restart). */
  private static final class Script {
    private final byte[] source;
    private final byte[] sha;

    Script(String source) {
      this.source = utf8(source);
      this.sha = utf8(sha1Hex(this.source));
    }

    Object run(RedisClient client, List<byte[]> keys, List<byte[]> args) {
      try {
        return client.evalsha(sha, keys, args);
      } catch (JedisNoScriptException e) {
        return client.eval(source, keys, args);
      }
    }

    private static String sha1Hex(byte[] bytes) {
      try {
        byte[] d = java.security.MessageDigest.getInstance("SHA-1").digest(bytes);
        StringBuilder sb = new StringBuilder();
        for (byte x : d) {
          sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new AssertionError(e);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** Builds a {@link RedisClusterBus}. Not thread-safe. */
  public static final class Builder {
    private final HostAndPort address;
    private final JedisClientConfig uriConfig;
    private String keyPrefix = "watchcast:";
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration timeout = Duration.ofSeconds(2);
    private Duration maxReconnectDelay = Duration.ofSeconds(2);
    private int poolSize = 16;

    private Builder(String uri) {
      Objects.requireNonNull(uri, "uri");
      URI parsed;
      try {
        parsed = new URI(uri);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("not a URI: " + uri, e);
      }
      String scheme = parsed.getScheme();
      if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
        throw new IllegalArgumentException(
            "a Redis URI starts with redis:// or rediss://, was " + uri);
      }
      if (parsed.getHost() == null) {
        throw new IllegalArgumentException("the Redis URI has no host: " + uri);
      }
      int port = parsed.getPort() == -1 ? Protocol.DEFAULT_PORT : parsed.getPort();
      this.address = new HostAndPort(parsed.getHost(), port);
      try {
        // What Jedis reads from a URI, spelled out: its builders' fromURI is deprecated. TLS: the
        // JDK's default trust store, and the host name checked against the certificate.
        DefaultJedisClientConfig.Builder config =
            DefaultJedisClientConfig.builder()
                .user(JedisURIHelper.getUser(parsed))
                .password(JedisURIHelper.getPassword(parsed))
                .database(JedisURIHelper.getDBIndex(parsed))
                .protocol(JedisURIHelper.getRedisProtocol(parsed));
        if ("rediss".equals(scheme)) {
          config.sslOptions(SslOptions.defaults());
        }
        this.uriConfig = config.build();
      } catch (RuntimeException e) {
        // The URI may hold a password: say what is wrong without repeating it.
        throw new IllegalArgumentException("not a valid Redis URI: " + e.getMessage(), e);
      }
    }

    /**
     * Prefix of every key and of the channel, so that several applications can share one Redis.
     * Default {@code watchcast:}.
     */
    public Builder keyPrefix(String prefix) {
      Objects.requireNonNull(prefix, "prefix");
      if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
        throw new IllegalArgumentException("the key prefix may not contain { or }");
      }
      this.keyPrefix = prefix;
      return this;
    }

    /** How long to wait for a connection to Redis. Default 2 seconds. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = positive(timeout, "connectTimeout");
      return this;
    }

    /**
     * How long a publish or a read waits for Redis (and for a free pooled connection). Default 2
     * seconds.
     */
    public Builder timeout(Duration timeout) {
      this.timeout = positive(timeout, "timeout");
      return this;
    }

    /** The longest wait between two attempts to reconnect the subscriber. Default 2 seconds. */
    public Builder maxReconnectDelay(Duration delay) {
      this.maxReconnectDelay = positive(delay, "maxReconnectDelay");
      return this;
    }

    /** Pooled connections for publishes and reads. Default 16. */
    public Builder poolSize(int size) {
      if (size < 1) {
        throw new IllegalArgumentException("poolSize must be >= 1, was " + size);
      }
      this.poolSize = size;
      return this;
    }

    public RedisClusterBus build() {
      return new RedisClusterBus(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isZero() || d.isNegative() || d.toMillis() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(name + " must be positive, was " + d);
      }
      return d;
    }
  }
}
