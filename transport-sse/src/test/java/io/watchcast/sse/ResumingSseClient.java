package io.watchcast.sse;

import io.watchcast.Envelope;
import io.watchcast.testing.Backoff;
import io.watchcast.testing.TopicLog;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * An SSE client that resumes as a browser does: one stream of all its topics, and after every end
 * of it a new one with the last event id it dispatched, in the {@code Last-Event-ID} header (as
 * {@code EventSource} reconnects) or in the {@code lastEventId} query parameter (as {@code
 * watchcast.js} opens a new {@code EventSource}), after {@code watchcast.js}'s {@link Backoff}. One
 * thread, which records what arrives in a {@link TopicLog}. Thread-safe.
 */
final class ResumingSseClient implements AutoCloseable {
  private static final Duration POLL = Duration.ofMillis(100);

  private final HttpClient http;
  private final String base;
  private final String path;
  private final boolean idInQuery;
  private final Backoff backoff;
  private final int topics;
  private final TopicLog log;
  private final Thread thread;
  private final AtomicInteger subscribed = new AtomicInteger();
  private final List<Integer> refusals = new CopyOnWriteArrayList<>();
  private volatile boolean closed;
  private volatile SseClient current;

  /**
   * Starts streaming from {@code base} (such as {@code http://127.0.0.1:8080}) at once.
   *
   * @param idInQuery resume with the {@code lastEventId} query parameter, else with the header
   */
  ResumingSseClient(
      String name,
      HttpClient http,
      String base,
      List<String> topics,
      Backoff backoff,
      boolean idInQuery) {
    this.http = http;
    this.base = base;
    this.path = "/events?topic=" + String.join(",", topics);
    this.idInQuery = idInQuery;
    this.backoff = backoff;
    this.topics = topics.size();
    this.log = new TopicLog(name, topics);
    this.thread = new Thread(this::run, name);
    thread.setDaemon(true);
    thread.start();
  }

  TopicLog log() {
    return log;
  }

  /** Statuses other than 200 that answered a request for the stream. */
  List<Integer> refusals() {
    return List.copyOf(refusals);
  }

  /** True while the stream is open and has answered {@code subscribed} for every topic. */
  boolean isLive() {
    SseClient c = current;
    return c != null && !c.isEnded() && subscribed.get() >= topics;
  }

  @Override
  public void close() {
    closed = true;
    SseClient c = current;
    if (c != null) {
      c.close();
    }
  }

  private void run() {
    String lastEventId = "";
    int retries = 0;
    while (!closed) {
      subscribed.set(0);
      SseClient c = open(lastEventId);
      current = c;
      try {
        while (!closed) {
          SseClient.Event e = c.poll(POLL);
          if (e == null) {
            if (c.isEnded()) {
              break;
            }
            continue;
          }
          retries = 0; // the stream opened: EventSource's onopen resets the backoff
          if (!e.lastEventId().isEmpty()) {
            lastEventId = e.lastEventId();
          }
          if (e.event().equals("subscribed")) {
            subscribed.incrementAndGet();
          } else {
            log.record(Envelope.parse(e.data()));
          }
        }
      } catch (InterruptedException ex) {
        return;
      } finally {
        c.close();
      }
      refused(c);
      LockSupport.parkNanos(backoff.delay(retries++).toNanos()); // the client's wait to retry
    }
  }

  private void refused(SseClient c) {
    int status;
    try {
      status = c.awaitResponse().statusCode(); // done by now: the stream ended
    } catch (Exception cutBeforeTheResponse) {
      return;
    }
    if (status != 200) {
      refusals.add(status);
    }
  }

  private SseClient open(String lastEventId) {
    if (lastEventId.isEmpty()) {
      return SseClient.open(http, URI.create(base + path));
    }
    if (idInQuery) {
      return SseClient.open(http, URI.create(base + path + "&lastEventId=" + lastEventId));
    }
    return SseClient.open(http, URI.create(base + path), "Last-Event-ID", lastEventId);
  }
}
