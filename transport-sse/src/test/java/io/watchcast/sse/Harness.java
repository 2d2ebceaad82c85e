package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Limits;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/** Test helpers: a hub and a transport on port 0, HTTP clients, polling to a deadline. */
final class Harness implements AutoCloseable {
  final ConnectionManager hub;
  final SseTransport transport;
  final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  Harness(ConnectionManager hub, Consumer<SseTransport.Builder> config) throws IOException {
    this.hub = hub;
    SseTransport.Builder b = SseTransport.builder(hub);
    config.accept(b);
    this.transport = b.build().start();
  }

  static Harness start(Consumer<SseTransport.Builder> config) throws IOException {
    return new Harness(ConnectionManager.builder().build(), config);
  }

  /** A hub whose per-connection outbox holds {@code maxQueuedBytes}, and a transport on it. */
  static Harness withOutbox(long maxQueuedBytes, Consumer<SseTransport.Builder> config)
      throws IOException {
    return new Harness(
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(maxQueuedBytes).build())
            .build(),
        config);
  }

  static Harness start() throws IOException {
    return start(b -> {});
  }

  URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + transport.port() + pathAndQuery);
  }

  SseClient stream(String pathAndQuery, String... headers) {
    return SseClient.open(http, uri(pathAndQuery), headers);
  }

  HttpResponse<String> get(String pathAndQuery, String... headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String pathAndQuery, String body, String... headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(pathAndQuery))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Sends raw request bytes and returns everything the server answers until it closes. */
  String raw(String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", transport.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * As a client that sends its whole request before it reads the answer (Java's {@code
   * HttpURLConnection}, many scripts): {@code head} (without the blank line), {@code
   * Content-Length: bodyBytes}, the body, then everything the server answers until it closes. A
   * small send buffer keeps the kernels from taking the whole body before the server answers. A
   * failed write fails the test, as it fails such a client ("Error writing request body to
   * server"), which then never reads the answer.
   */
  String sendAllThenRead(String head, int bodyBytes) throws IOException {
    try (Socket s = new Socket()) {
      s.setSendBufferSize(16 * 1024);
      s.connect(new InetSocketAddress("127.0.0.1", transport.port()), 5000);
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(
          (head + "Content-Length: " + bodyBytes + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      byte[] chunk = new byte[8192];
      Arrays.fill(chunk, (byte) ' ');
      for (int sent = 0; sent < bodyBytes; sent += chunk.length) {
        out.write(chunk, 0, Math.min(chunk.length, bodyBytes - sent));
      }
      out.flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    await(what, Duration.ofSeconds(10), condition);
  }

  static void await(String what, Duration deadline, BooleanSupplier condition)
      throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - end).as("waiting for: " + what).isNegative();
      Thread.sleep(5);
    }
  }

  @Override
  public void close() {
    transport.close();
    hub.close();
  }
}
