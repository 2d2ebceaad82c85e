package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * A real SSE client over {@link HttpClient}, parsing the stream as a browser does: a recorder with
 * {@link #next()} to a deadline. No thread per stream (an asynchronous line subscriber).
 */
final class SseClient implements AutoCloseable {
  static final Duration DEADLINE = Duration.ofSeconds(10);

  /**
   * One dispatched event, as EventSource would dispatch it: {@code id} is the event's own id line
   * (null if it had none), {@code lastEventId} the MessageEvent's lastEventId.
   */
  record Event(String id, String event, String data, String lastEventId) {}

  final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
  final AtomicInteger comments = new AtomicInteger();
  final AtomicReference<String> retry = new AtomicReference<>();
  final CompletableFuture<HttpResponse<Void>> response;
  private final CompletableFuture<HttpResponse.ResponseInfo> info = new CompletableFuture<>();
  private final AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private volatile String lastEventId = "";

  // Parser state, on the subscriber's thread.
  private String id;
  private boolean ownId;
  private String type;
  private StringBuilder data;

  private static final Object END = new Object();

  SseClient(HttpClient client, URI uri, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
    if (headers.length > 0) {
      b.headers(headers);
    }
    Lines lines = new Lines();
    response =
        client.sendAsync(
            b.build(),
            responseInfo -> {
              info.complete(responseInfo);
              return HttpResponse.BodySubscribers.fromLineSubscriber(lines);
            });
    response.whenComplete(
        (r, t) -> {
          if (t != null) {
            info.completeExceptionally(t);
            ended.complete(null); // before END, so that isEnded() holds once END is read
            events.add(END);
          }
        });
  }

  static SseClient open(HttpClient client, URI uri, String... headers) {
    return new SseClient(client, uri, headers);
  }

  /** The status and headers, as soon as they arrive (the body goes on). */
  HttpResponse.ResponseInfo awaitResponse() throws Exception {
    return info.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
  }

  /** The id of the last event with an id, as EventSource keeps it. */
  String lastEventId() {
    return lastEventId;
  }

  Event next() throws Exception {
    Object o = events.poll(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(o).as("an event within %s", DEADLINE).isNotNull();
    assertThat(o).as("an event, not the end of the stream").isNotSameAs(END);
    return (Event) o;
  }

  /**
   * The next event within {@code wait}; null if none came in time or if the stream ended, which
   * {@link #isEnded()} then tells.
   */
  Event poll(Duration wait) throws InterruptedException {
    Object o = events.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
    return o == END ? null : (Event) o;
  }

  /** The next event that matches, skipping others. */
  Event next(Predicate<Event> match) throws Exception {
    long end = System.nanoTime() + DEADLINE.toNanos();
    while (true) {
      long left = end - System.nanoTime();
      Object o = events.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
      assertThat(o).as("a matching event within %s", DEADLINE).isNotNull();
      assertThat(o).as("a matching event, not the end of the stream").isNotSameAs(END);
      if (match.test((Event) o)) {
        return (Event) o;
      }
    }
  }

  Event nextOfType(String type) throws Exception {
    return next(e -> e.event().equals(type));
  }

  /** Waits for the server to end the stream, skipping events. */
  void awaitEnd() throws Exception {
    ended.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
  }

  boolean isEnded() {
    return ended.isDone();
  }

  void assertNoEvent(Duration within) throws Exception {
    Object o = events.poll(within.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(o).as("no event").isNull();
  }

  List<Event> drainNow() {
    List<Object> all = new ArrayList<>();
    events.drainTo(all);
    List<Event> out = new ArrayList<>();
    for (Object o : all) {
      if (o != END) {
        out.add((Event) o);
      }
    }
    return out;
  }

  /** Cuts the connection (HTTP/1.1) or resets the stream (HTTP/2). */
  @Override
  public void close() {
    Flow.Subscription s = subscription.get();
    if (s != null) {
      s.cancel();
    }
    response.cancel(true);
  }

  private void line(String line) {
    if (line.isEmpty()) {
      // As the HTML spec's EventSource: the id buffer persists across events, and becomes the
      // last event id at each dispatch (a blank line), not when the id: line arrives.
      lastEventId = id == null ? "" : id;
      if (data != null) {
        events.add(
            new Event(
                ownId ? id : null, type == null ? "message" : type, data.toString(), lastEventId));
      }
      ownId = false;
      type = null;
      data = null;
      return;
    }
    if (line.startsWith(":")) {
      comments.incrementAndGet();
      return;
    }
    int colon = line.indexOf(':');
    String field = colon < 0 ? line : line.substring(0, colon);
    String value = colon < 0 ? "" : line.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    switch (field) {
      case "id" -> {
        id = value;
        ownId = true;
      }
      case "event" -> type = value;
      case "data" -> {
        if (data == null) {
          data = new StringBuilder(value);
        } else {
          data.append('\n').append(value);
        }
      }
      case "retry" -> retry.set(value);
      default -> {}
    }
  }

  private final class Lines implements Flow.Subscriber<String> {
    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription.set(s);
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String item) {
      line(item);
    }

    @Override
    public void onError(Throwable t) {
      ended.complete(null);
      events.add(END);
    }

    @Override
    public void onComplete() {
      ended.complete(null);
      events.add(END);
    }
  }
}
