package io.watchcast.testing;

import io.watchcast.Envelope;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket client (the JDK's) that behaves as {@code watchcast.js} does on WebSocket
 * (docs/CLIENT.md): it subscribes to its topics as soon as a connection opens, remembers per topic
 * the epoch and id of the last message it took, subscribes again with {@code since}/{@code epoch}
 * after every disconnect, drops what it already has (same epoch, id not newer), and reconnects with
 * the browser client's {@link Backoff} (n counts retries since the last connection that opened). As
 * there (and as docs/SSE.md gives it for SSE), {@code subscribed} or {@code reset} with id 0 (a
 * topic with no message yet) records {@code (epoch, 0)}, resumed as {@code since=0}, so messages
 * published while the client is away are replayed rather than skipped; a {@code reset} past 0 drops
 * the topic's position, so a cut before its snapshot brings the snapshot again.
 *
 * <p>What arrives is recorded as a {@link TopicLog}, duplicates included, so a test sees what the
 * server sent, not what the dedupe let through. Every connection attempt is kept as an {@link
 * Attempt}. Thread-safe; callbacks run on the HTTP client's threads and one timer thread.
 */
public final class ResumingClient implements AutoCloseable {
  private static final ScheduledExecutorService TIMERS =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "resuming-client-timer");
            t.setDaemon(true);
            return t;
          });

  /**
   * One connection attempt.
   *
   * @param retry the backoff's n for the wait before it (-1 for the first attempt, which does not
   *     wait)
   * @param delay how long it waited before it began
   * @param startNanos when it began ({@link System#nanoTime()})
   * @param openNanos when its connection opened, 0 if it never did
   * @param endNanos when it ended, 0 while it lasts
   */
  public record Attempt(int retry, Duration delay, long startNanos, long openNanos, long endNanos) {
    public boolean opened() {
      return openNanos != 0;
    }
  }

  private record Position(String epoch, long id) {}

  private final String name;
  private final HttpClient http;
  private final URI uri;
  private final List<String> topics;
  private final Backoff backoff;
  private final TopicLog log;

  // Guarded by this.
  private final Map<String, Position> positions = new HashMap<>();
  private final List<Attempt> attempts = new ArrayList<>();
  private final List<Envelope> errors = new ArrayList<>();
  private Listener current;
  private int retries;
  private int subscribedReplies;
  private boolean closed;

  private ResumingClient(
      String name, HttpClient http, URI uri, List<String> topics, Backoff backoff) {
    this.name = name;
    this.http = http;
    this.uri = uri;
    this.topics = List.copyOf(topics);
    this.backoff = backoff;
    this.log = new TopicLog(name, topics);
  }

  /** Starts connecting to {@code uri} at once and keeps {@code topics} subscribed until closed. */
  public static ResumingClient start(
      String name, HttpClient http, String uri, List<String> topics, Backoff backoff) {
    ResumingClient c = new ResumingClient(name, http, URI.create(uri), topics, backoff);
    c.open(-1, Duration.ZERO);
    return c;
  }

  public String name() {
    return name;
  }

  /** True while a connection is open and has answered {@code subscribed} for every topic. */
  public synchronized boolean isLive() {
    return current != null && current.opened && subscribedReplies >= topics.size();
  }

  /** Every connection attempt so far, oldest first. */
  public synchronized List<Attempt> attempts() {
    List<Attempt> all = new ArrayList<>(attempts);
    if (current != null) {
      all.add(current.attempt());
    }
    return all;
  }

  /** {@code error} messages the server sent. */
  public synchronized List<Envelope> errors() {
    return List.copyOf(errors);
  }

  /** What arrived, per topic. */
  public TopicLog log() {
    return log;
  }

  @Override
  public void close() {
    Listener l;
    synchronized (this) {
      closed = true;
      l = current;
      current = null;
    }
    if (l != null && l.ws != null) {
      l.ws.abort();
    }
  }

  @Override
  public String toString() {
    return name;
  }

  private void open(int retry, Duration delay) {
    Listener l;
    synchronized (this) {
      if (closed) {
        return;
      }
      l = new Listener(retry, delay);
      current = l;
      subscribedReplies = 0;
    }
    CompletableFuture<WebSocket> f;
    try {
      f = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(uri, l);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (ws, failure) -> {
          if (failure != null) {
            ended(l);
          }
        });
  }

  /** A connection ended (or never opened): retry after the backoff, as watchcast.js does. */
  private void ended(Listener l) {
    int retry;
    Duration delay;
    synchronized (this) {
      if (l.endNanos == 0) {
        l.endNanos = System.nanoTime();
      }
      if (current != l || closed) {
        return;
      }
      attempts.add(l.attempt());
      current = null;
      retry = retries++;
      delay = backoff.delay(retry);
    }
    if (l.ws != null) {
      l.ws.abort(); // frees what a server's close left open
    }
    TIMERS.schedule(() -> open(retry, delay), delay.toNanos(), TimeUnit.NANOSECONDS);
  }

  private List<String> opened(Listener l) {
    List<String> subscribes = new ArrayList<>();
    synchronized (this) {
      if (current != l || closed) {
        return null;
      }
      l.openNanos = System.nanoTime();
      l.opened = true;
      retries = 0; // a connection that opens resets the backoff
      for (String t : topics) {
        Position p = positions.get(t);
        String resume = p == null ? "" : ",\"since\":" + p.id + ",\"epoch\":\"" + p.epoch + "\"";
        subscribes.add("{\"action\":\"subscribe\",\"topic\":\"" + t + "\"" + resume + "}");
      }
    }
    return subscribes;
  }

  private void received(Listener l, Envelope e) {
    synchronized (this) {
      if (current != l) {
        return;
      }
      switch (e.type()) {
        case "subscribed" -> {
          subscribedReplies++;
          if (e.data().path("id").asLong(-1) == 0) {
            positions.put(e.topic(), new Position(e.data().path("epoch").asText(), 0));
          }
          return;
        }
        case "pong", "unsubscribed" -> {
          return;
        }
        case "error" -> {
          errors.add(e);
          return;
        }
        default -> {}
      }
      log.record(e);
      if (!topics.contains(e.topic())) {
        return;
      }
      if (e.type().equals("reset")) {
        if (e.data().path("id").asLong() == 0) {
          positions.put(e.topic(), new Position(e.data().path("epoch").asText(), 0));
        } else {
          positions.remove(e.topic());
        }
      } else if (e.epoch() != null && e.id() > 0) {
        Position p = positions.get(e.topic());
        if (p == null || !p.epoch.equals(e.epoch()) || e.id() > p.id) {
          positions.put(e.topic(), new Position(e.epoch(), e.id()));
        } // else a duplicate, which watchcast.js drops
      }
    }
  }

  /** The listener of one connection attempt. */
  private final class Listener implements WebSocket.Listener {
    final int retry;
    final Duration delay;
    final long startNanos = System.nanoTime();
    final StringBuilder partial = new StringBuilder();
    volatile WebSocket ws;
    volatile boolean opened;
    volatile long openNanos;
    volatile long endNanos;

    Listener(int retry, Duration delay) {
      this.retry = retry;
      this.delay = delay;
    }

    Attempt attempt() {
      return new Attempt(retry, delay, startNanos, openNanos, endNanos);
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      ws = webSocket;
      List<String> subscribes = opened(this);
      if (subscribes == null) {
        webSocket.abort(); // closed meanwhile
        return;
      }
      CompletableFuture<WebSocket> sent = CompletableFuture.completedFuture(webSocket);
      for (String s : subscribes) {
        sent = sent.thenCompose(w -> w.sendText(s, true));
      }
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        received(this, Envelope.parse(text));
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      ended(this);
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      ended(this);
    }
  }
}
