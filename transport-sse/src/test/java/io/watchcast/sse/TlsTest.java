package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import io.watchcast.testing.SelfSignedTls;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tls(SSLContext)}: HTTPS from {@code start()}, h2 chosen by ALPN, HTTP/1.1 beside it. A
 * real self-signed certificate made by the JDK's keytool, real TLS clients.
 */
class TlsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir static Path dir;
  static SSLContext serverContext;
  static SSLContext clientContext;

  @BeforeAll
  static void certificate() throws Exception {
    SelfSignedTls tls = SelfSignedTls.create(dir);
    serverContext = tls.server;
    clientContext = tls.client;
  }

  private static HttpClient client(HttpClient.Version version) {
    return HttpClient.newBuilder()
        .version(version)
        .sslContext(clientContext)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  private static URI https(Harness h, String pathAndQuery) {
    return URI.create("https://localhost:" + h.transport.port() + pathAndQuery);
  }

  @Test
  void h2OverTls_manyStreams() throws Exception {
    try (Harness h = new Harness(ConnectionManager.builder().build(), b -> b.tls(serverContext))) {
      HttpClient client = client(HttpClient.Version.HTTP_2);
      HttpResponse<String> list =
          client.send(
              HttpRequest.newBuilder(https(h, "/api/topics")).timeout(TIMEOUT).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(list.statusCode()).isEqualTo(200);
      assertThat(list.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(list.uri().getScheme()).isEqualTo("https");

      List<SseClient> streams = new ArrayList<>();
      try {
        for (int i = 0; i < 20; i++) { // far past a browser's six HTTP/1.1 connections per host
          streams.add(SseClient.open(client, https(h, "/events?topic=t")));
        }
        for (SseClient c : streams) {
          assertThat(c.awaitResponse().version()).isEqualTo(HttpClient.Version.HTTP_2);
          c.nextOfType("subscribed");
        }
        for (int i = 1; i <= 50; i++) {
          h.hub.publish("t", i);
        }
        for (SseClient c : streams) {
          for (int i = 1; i <= 50; i++) {
            Envelope e = Envelope.parse(c.nextOfType("update").data());
            assertThat(e.id()).isEqualTo(i);
            assertThat(e.data().asInt()).isEqualTo(i);
          }
        }
      } finally {
        streams.forEach(SseClient::close);
      }
    }
  }

  @Test
  void http11OverTls_stillServed() throws Exception {
    try (Harness h = new Harness(ConnectionManager.builder().build(), b -> b.tls(serverContext))) {
      HttpClient client = client(HttpClient.Version.HTTP_1_1);
      try (SseClient c = SseClient.open(client, https(h, "/events?topic=t"))) {
        assertThat(c.awaitResponse().version()).isEqualTo(HttpClient.Version.HTTP_1_1);
        c.nextOfType("subscribed");
        h.hub.publish("t", "over tls");
        assertThat(Envelope.parse(c.nextOfType("update").data()).data().asText())
            .isEqualTo("over tls");
      }
    }
  }

  @Test
  void http2Off_alpnFallsBackToHttp11() throws Exception {
    try (Harness h =
        new Harness(ConnectionManager.builder().build(), b -> b.tls(serverContext).http2(false))) {
      HttpResponse<String> r =
          client(HttpClient.Version.HTTP_2)
              .send(
                  HttpRequest.newBuilder(https(h, "/api/topics")).timeout(TIMEOUT).build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    }
  }

  @Test
  void cleartextRequestToTlsPort_getsNoData() throws Exception {
    try (Harness h = new Harness(ConnectionManager.builder().build(), b -> b.tls(serverContext))) {
      h.hub.publish("secret", "value");
      // A plain-HTTP request to the TLS port must not be answered with the topic's data. Jetty
      // answers a cleartext request on a TLS port with a 400 or closes the connection.
      try {
        HttpResponse<String> r =
            client(HttpClient.Version.HTTP_1_1)
                .send(
                    HttpRequest.newBuilder(
                            URI.create(
                                "http://localhost:" + h.transport.port() + "/api/topics/secret"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isGreaterThanOrEqualTo(400);
        assertThat(r.body()).doesNotContain("value");
      } catch (IOException expected) {
        // the connection was closed: also fine
      }
    }
  }

  /**
   * A raw TLS client offering {@code alpn} (null: none), sending {@code Host: host}; returns the
   * status line and the negotiated protocol.
   */
  private static String[] rawRequest(Harness h, String alpn, String host) throws Exception {
    try (SSLSocket socket =
        (SSLSocket)
            clientContext.getSocketFactory().createSocket("127.0.0.1", h.transport.port())) {
      socket.setSoTimeout(10_000);
      if (alpn != null) {
        SSLParameters p = socket.getSSLParameters();
        p.setApplicationProtocols(new String[] {alpn});
        socket.setSSLParameters(p);
      }
      socket.startHandshake();
      String negotiated = socket.getApplicationProtocol();
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET /api/topics HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      return new String[] {in.readLine(), negotiated};
    }
  }

  @Test
  void clientOfferingOnlyHttp11ByAlpn_isServed() throws Exception {
    // curl --http1.1, Python's http.client and others offer "http/1.1" by ALPN.
    try (Harness h = new Harness(ConnectionManager.builder().build(), b -> b.tls(serverContext))) {
      String[] r = rawRequest(h, "http/1.1", "localhost");
      assertThat(r[1]).isEqualTo("http/1.1");
      assertThat(r[0]).isEqualTo("HTTP/1.1 200 OK");
      String[] none = rawRequest(h, null, "localhost"); // no ALPN at all
      assertThat(none[0]).isEqualTo("HTTP/1.1 200 OK");
    }
  }

  @Test
  void hostNotNamedByTheCertificate_isServed() throws Exception {
    // Health checks by IP address, aliases: the Host header is not checked against the SNI name.
    try (Harness h = new Harness(ConnectionManager.builder().build(), b -> b.tls(serverContext))) {
      assertThat(rawRequest(h, "http/1.1", "other.example")[0]).isEqualTo("HTTP/1.1 200 OK");
      assertThat(rawRequest(h, null, "10.1.2.3:8443")[0]).isEqualTo("HTTP/1.1 200 OK");
    }
  }

  @Test
  void tlsWithJettyHandler_isRefused() {
    SseTransport t =
        SseTransport.builder(ConnectionManager.builder().build()).tls(serverContext).build();
    assertThatThrownBy(t::jettyHandler)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("tls");
  }

  @Test
  void stalledTlsReader_isAbortedAfterWriteTimeout_whileOthersKeepReceiving() throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(256L << 20).build())
            .build();
    try (Harness h =
            new Harness(hub, b -> b.tls(serverContext).writeTimeout(Duration.ofSeconds(6)));
        SseClient fast =
            SseClient.open(client(HttpClient.Version.HTTP_1_1), https(h, "/events?topic=flood"));
        SSLSocket stalled = (SSLSocket) clientContext.getSocketFactory().createSocket()) {
      fast.nextOfType("subscribed");
      // A TLS client that completes the handshake and the request, then never reads again.
      stalled.setReceiveBufferSize(4096);
      stalled.connect(new java.net.InetSocketAddress("127.0.0.1", h.transport.port()), 5000);
      stalled.setSoTimeout(10_000);
      stalled.startHandshake();
      OutputStream out = stalled.getOutputStream();
      out.write(
          "GET /events?topic=flood HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Harness.await("two streams", () -> h.transport.streamCount() == 2);

      String payload = "\"" + "x".repeat(40_000) + "\"";
      int count = 400; // 16 MB: far more than the stalled socket's buffers
      for (int i = 0; i < count; i++) {
        hub.publish("flood", RawJson.of(payload));
      }
      for (int i = 1; i <= count; i++) {
        assertThat(Envelope.parse(fast.nextOfType("update").data()).id()).isEqualTo(i);
      }
      assertThat(h.transport.streamCount()).isEqualTo(2); // the fast one never waited
      Harness.await(
          "the stalled TLS stream to be aborted",
          Duration.ofSeconds(20),
          () -> h.transport.streamCount() == 1);
      // The server closed or reset it: reading what is left ends rather than timing out.
      boolean closed;
      try {
        byte[] buf = new byte[1 << 16];
        while (stalled.getInputStream().read(buf) >= 0) {
          // drain
        }
        closed = true;
      } catch (java.net.SocketTimeoutException e) {
        closed = false;
      } catch (IOException e) {
        closed = true;
      }
      assertThat(closed).isTrue();
      hub.publish("flood", RawJson.of("1"));
      assertThat(Envelope.parse(fast.nextOfType("update").data()).id()).isEqualTo(count + 1);
    }
  }
}
