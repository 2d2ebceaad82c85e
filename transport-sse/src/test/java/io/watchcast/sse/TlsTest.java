package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tls(SSLContext)}: HTTPS from {@code start()}, h2 chosen by ALPN, HTTP/1.1 beside it. A
 * real self-signed certificate made by the JDK's keytool, real TLS clients.
 */
class TlsTest {
  private static final char[] PASSWORD = "changeit".toCharArray();

  @TempDir static Path dir;
  static SSLContext serverContext;
  static SSLContext clientContext;

  @BeforeAll
  static void certificate() throws Exception {
    Path store = dir.resolve("server.p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Process p =
        new ProcessBuilder(
                keytool.toString(),
                "-genkeypair",
                "-alias",
                "watchcast",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=localhost",
                "-ext",
                "SAN=dns:localhost,ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                store.toString(),
                "-storepass",
                new String(PASSWORD),
                "-keypass",
                new String(PASSWORD))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("keytool: %s", out).isZero();

    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, PASSWORD);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASSWORD);
    serverContext = SSLContext.getInstance("TLS");
    serverContext.init(kmf.getKeyManagers(), null, null);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks); // the client trusts exactly this certificate
    clientContext = SSLContext.getInstance("TLS");
    clientContext.init(null, tmf.getTrustManagers(), null);
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
  void h2OverTls_manyStreamsOnOneConnection() throws Exception {
    try (Harness h = new Harness(ConnectionManager.builder().build(), b -> b.tls(serverContext))) {
      HttpClient client = client(HttpClient.Version.HTTP_2);
      HttpResponse<String> list =
          client.send(
              HttpRequest.newBuilder(https(h, "/api/topics")).build(),
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
                  HttpRequest.newBuilder(https(h, "/api/topics")).build(),
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
}
