package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.Envelope;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A real WebSocket client (the JDK's) that records what it receives: {@link #next()} waits up to a
 * deadline, {@link #assertExhausted()} checks nothing else arrived. Thread-safe.
 */
final class TestClient implements AutoCloseable {
  static final Duration DEADLINE = Duration.ofSeconds(20);
  static final HttpClient HTTP = HttpClient.newHttpClient();

  record Closed(int code, String reason) {}

  private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
  private final StringBuilder partial = new StringBuilder();
  volatile WebSocket ws;

  static TestClient connect(String uri) {
    return connect(uri, Map.of());
  }

  static TestClient connect(String uri, Map<String, String> headers) {
    try {
      return connectAsync(HTTP, uri, headers).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("connect failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError(e);
    }
  }

  static CompletableFuture<TestClient> connectAsync(
      HttpClient http, String uri, Map<String, String> headers) {
    TestClient c = new TestClient();
    WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(DEADLINE);
    headers.forEach(b::header);
    return b.buildAsync(URI.create(uri), c.listener())
        .thenApply(
            w -> {
              c.ws = w;
              return c;
            });
  }

  /** The HTTP status of a refused handshake. */
  static int refusedStatus(String uri, Map<String, String> headers) {
    try {
      connectAsync(HTTP, uri, headers).get(DEADLINE.toSeconds(), TimeUnit.SECONDS).abort();
      throw new AssertionError("handshake was accepted");
    } catch (ExecutionException | CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof WebSocketHandshakeException) {
        return ((WebSocketHandshakeException) cause).getResponse().statusCode();
      }
      throw new AssertionError("unexpected failure", cause);
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError(e);
    }
  }

  private WebSocket.Listener listener() {
    return new WebSocket.Listener() {
      @Override
      public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
      }

      @Override
      public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        synchronized (partial) {
          partial.append(data);
          if (last) {
            events.add(partial.toString());
            partial.setLength(0);
          }
        }
        webSocket.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        events.add(new Closed(statusCode, reason));
        return null;
      }

      @Override
      public void onError(WebSocket webSocket, Throwable error) {
        events.add(error);
      }
    };
  }

  void send(String text) {
    ws.sendText(text, true).join();
  }

  /** The next message, or fails past the deadline or on a close. */
  Envelope next() {
    Object e = nextEvent();
    if (e instanceof String) {
      return Envelope.parse((String) e);
    }
    throw new AssertionError("expected a message, got " + e);
  }

  /** The next message of {@code type}, skipping others that match {@code skip}. */
  Envelope next(String type) {
    Envelope e = next();
    assertThat(e.type()).as("type of %s", e).isEqualTo(type);
    return e;
  }

  Envelope nextMatching(Predicate<Envelope> p) {
    while (true) {
      Envelope e = next();
      if (p.test(e)) {
        return e;
      }
    }
  }

  Object nextEvent() {
    try {
      Object e = events.poll(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      if (e == null) {
        throw new AssertionError("nothing received within " + DEADLINE);
      }
      return e;
    } catch (InterruptedException ex) {
      throw new AssertionError(ex);
    }
  }

  /** Skips messages until the close arrives. */
  Closed awaitClose() {
    while (true) {
      Object e = nextEvent();
      if (e instanceof Closed) {
        return (Closed) e;
      }
      if (e instanceof Throwable) {
        throw new AssertionError("error instead of a close", (Throwable) e);
      }
    }
  }

  void assertExhausted() {
    try {
      Object e = events.poll(200, TimeUnit.MILLISECONDS);
      assertThat(e).as("unexpected event").isNull();
    } catch (InterruptedException ex) {
      throw new AssertionError(ex);
    }
  }

  void abort() {
    ws.abort();
  }

  @Override
  public void close() {
    WebSocket w = ws;
    if (w != null) {
      w.abort();
    }
  }
}
