package io.watchcast.sse;

import static io.watchcast.sse.SseStreamTest.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watchcast.Envelope;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

final class RestApiTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Test
  void topicList_showsIdEpochAndSubscribers() throws Exception {
    try (Harness h = Harness.start()) {
      h.hub.publish("b", 1);
      h.hub.publish("a", 1);
      h.hub.publish("a", 2);
      try (SseClient c = h.stream("/events?topic=a")) {
        c.nextOfType("subscribed");
        HttpResponse<String> r = h.get("/api/topics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode topics = MAPPER.readTree(r.body()).get("topics");
        assertThat(topics).hasSize(2);
        assertThat(topics.get(0).get("topic").asText()).isEqualTo("a");
        assertThat(topics.get(0).get("id").asLong()).isEqualTo(2);
        assertThat(topics.get(0).get("epoch").asText())
            .isEqualTo(h.hub.topic("a").orElseThrow().epoch());
        assertThat(topics.get(0).get("subscribers").asInt()).isEqualTo(1);
        assertThat(topics.get(0).get("hasSnapshot").asBoolean()).isTrue();
        assertThat(topics.get(1).get("topic").asText()).isEqualTo("b");
        assertThat(topics.get(1).get("subscribers").asInt()).isZero();
      }
    }
  }

  @Test
  void snapshot_hasEtag_andIfNoneMatchGives304UntilTheNextPublish() throws Exception {
    try (Harness h = Harness.start()) {
      h.hub.publish("stats", Map.of("cpu", 1));
      HttpResponse<String> r = h.get("/api/topics/stats");
      assertThat(r.statusCode()).isEqualTo(200);
      Envelope env = Envelope.parse(r.body());
      assertThat(env.type()).isEqualTo("snapshot");
      assertThat(env.data().get("cpu").asInt()).isEqualTo(1);
      String etag = r.headers().firstValue("etag").orElseThrow();
      assertThat(etag).isEqualTo("\"" + env.epoch() + "-1\"");
      HttpResponse<String> same = h.get("/api/topics/stats", "If-None-Match", etag);
      assertThat(same.statusCode()).isEqualTo(304);
      assertThat(same.body()).isEmpty();
      assertThat(h.get("/api/topics/stats", "If-None-Match", "W/" + etag).statusCode())
          .isEqualTo(304);
      assertThat(h.get("/api/topics/stats", "If-None-Match", "\"x\", " + etag).statusCode())
          .isEqualTo(304);
      h.hub.publish("stats", Map.of("cpu", 2));
      HttpResponse<String> changed = h.get("/api/topics/stats", "If-None-Match", etag);
      assertThat(changed.statusCode()).isEqualTo(200);
      assertThat(Envelope.parse(changed.body()).data().get("cpu").asInt()).isEqualTo(2);
      assertThat(changed.headers().firstValue("etag")).hasValue("\"" + env.epoch() + "-2\"");
    }
  }

  @Test
  void snapshot_unknownOrEmptyOrInvalidTopic_isClear4xx() throws Exception {
    try (Harness h = Harness.start()) {
      assertError(h.get("/api/topics/nothing"), 404, "unknown_topic");
      h.hub.declareTopic("declared", io.watchcast.TopicOptions.defaults());
      assertError(h.get("/api/topics/declared"), 404, "no_snapshot");
      assertError(h.get("/api/topics/bad%20name"), 400, "invalid_topic");
      assertError(h.get("/api/topics/system"), 400, "invalid_topic");
      assertError(h.get("/api/topics/a/b"), 400, "invalid_topic");
    }
  }

  @Test
  void publish_offByDefault_is405() throws Exception {
    try (Harness h = Harness.start()) {
      HttpResponse<String> r =
          h.post("/api/topics/t", "{\"a\":1}", "Content-Type", "application/json");
      assertError(r, 405, "method_not_allowed");
      assertThat(h.hub.topic("t")).isEmpty();
    }
  }

  @Test
  void publish_enabledWithoutAuthenticator_failsAtBuild() {
    try (var hub = io.watchcast.ConnectionManager.builder().build()) {
      assertThatThrownBy(() -> SseTransport.builder(hub).publishEndpoint(true).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("authenticator");
    }
  }

  @Test
  void publish_withAndWithoutCredentials() throws Exception {
    try (Harness h =
        Harness.start(
            b ->
                b.publishEndpoint(true)
                    .authenticator(Authenticator.token("s3cret", "script"))
                    .publishAuthorizer((p, topic) -> !topic.startsWith("ro.")))) {
      try (SseClient c = h.stream("/events?topic=jobs", "Authorization", "Bearer s3cret")) {
        c.nextOfType("subscribed");
        assertError(
            h.post("/api/topics/jobs", "{\"done\":1}", "Content-Type", "application/json"),
            401,
            "unauthorized");
        assertError(
            h.post(
                "/api/topics/jobs",
                "{\"done\":1}",
                "Content-Type",
                "application/json",
                "Authorization",
                "Bearer wrong"),
            401,
            "unauthorized");
        HttpResponse<String> ok =
            h.post(
                "/api/topics/jobs?type=finished",
                "{\"done\":2}",
                "Content-Type",
                "application/json; charset=utf-8",
                "Authorization",
                "Bearer s3cret");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(202);
        SseClient.Event e = c.next();
        assertThat(e.event()).isEqualTo("finished");
        assertThat(Envelope.parse(e.data()).data().get("done").asInt()).isEqualTo(2);
        assertError(
            h.post(
                "/api/topics/ro.x",
                "1",
                "Content-Type",
                "application/json",
                "Authorization",
                "Bearer s3cret"),
            403,
            "forbidden");
      }
      // Cookie and query parameter carry the token too.
      assertThat(
              h.post(
                      "/api/topics/jobs",
                      "3",
                      "Content-Type",
                      "application/json",
                      "Cookie",
                      "watchcast_token=s3cret")
                  .statusCode())
          .isEqualTo(202);
      assertThat(
              h.post(
                      "/api/topics/jobs?access_token=s3cret",
                      "4",
                      "Content-Type",
                      "application/json")
                  .statusCode())
          .isEqualTo(202);
      assertThat(h.hub.topic("jobs").orElseThrow().id()).isEqualTo(3);
      // The same authenticator guards reads.
      assertError(h.get("/api/topics"), 401, "unauthorized");
      assertError(h.get("/events?topic=jobs"), 401, "unauthorized");
      HttpResponse<String> r = h.get("/api/topics");
      assertThat(r.headers().firstValue("www-authenticate")).hasValue("Bearer");
    }
  }

  @Test
  void publish_badBodies_areClear4xx_andPublishNothing() throws Exception {
    try (Harness h = openPublishing(100)) {
      String json = "application/json";
      assertError(h.post("/api/topics/t", "{\"a\":", "Content-Type", json), 400, "invalid_json");
      assertError(h.post("/api/topics/t", "", "Content-Type", json), 400, "invalid_json");
      assertError(h.post("/api/topics/t", "{} {}", "Content-Type", json), 400, "invalid_json");
      assertError(h.post("/api/topics/t", "nope", "Content-Type", json), 400, "invalid_json");
      assertError(
          h.post("/api/topics/t", "{\"a\":1}", "Content-Type", "text/plain"),
          415,
          "unsupported_media_type");
      assertError(
          h.post("/api/topics/t?type=snapshot", "1", "Content-Type", json), 400, "invalid_type");
      assertError(
          h.post("/api/topics/t?type=bad%20type", "1", "Content-Type", json), 400, "invalid_type");
      String exactly100 = "\"" + "x".repeat(98) + "\"";
      assertThat(h.post("/api/topics/t", exactly100, "Content-Type", json).statusCode())
          .isEqualTo(202);
      String over = "\"" + "x".repeat(99) + "\"";
      assertError(h.post("/api/topics/t", over, "Content-Type", json), 413, "payload_too_large");
      assertThat(h.hub.topic("t").orElseThrow().id()).isEqualTo(1);
    }
  }

  @Test
  void publish_chunkedOversizeBody_is413() throws Exception {
    try (Harness h = openPublishing(100)) {
      String chunk = "\"" + "x".repeat(200) + "\"";
      String response =
          h.raw(
              "POST /api/topics/t HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  + Integer.toHexString(chunk.length())
                  + "\r\n"
                  + chunk
                  + "\r\n0\r\n\r\n");
      assertThat(response).startsWith("HTTP/1.1 413").contains("payload_too_large");
      assertThat(h.hub.topic("t")).isEmpty();
    }
  }

  @Test
  void oversizeRequestHeaders_are431() throws Exception {
    try (Harness h = Harness.start()) {
      String response =
          h.raw(
              "GET /events?topic=t HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                  + "x".repeat(40_000)
                  + "\r\nConnection: close\r\n\r\n");
      assertThat(response).startsWith("HTTP/1.1 431");
      assertThat(h.transport.streamCount()).isZero();
    }
  }

  @Test
  void cors_sameOriginAndListedOrigins_areAllowed_othersRefused() throws Exception {
    try (Harness h = Harness.start(b -> b.allowedOrigins("https://dash.example.com"))) {
      String self = "http://127.0.0.1:" + h.transport.port();
      HttpResponse<String> same = h.get("/api/topics", "Origin", self);
      assertThat(same.statusCode()).isEqualTo(200);
      assertThat(same.headers().firstValue("access-control-allow-origin")).isEmpty();
      HttpResponse<String> listed = h.get("/api/topics", "Origin", "https://dash.example.com");
      assertThat(listed.statusCode()).isEqualTo(200);
      assertThat(listed.headers().firstValue("access-control-allow-origin"))
          .hasValue("https://dash.example.com");
      assertThat(listed.headers().firstValue("access-control-allow-credentials")).hasValue("true");
      assertError(
          h.get("/api/topics", "Origin", "https://evil.example"), 403, "origin_not_allowed");
      assertError(
          h.get("/events?topic=t", "Origin", "https://evil.example"), 403, "origin_not_allowed");
      try (SseClient c = h.stream("/events?topic=t", "Origin", "https://dash.example.com")) {
        assertThat(c.awaitResponse().headers().firstValue("access-control-allow-origin"))
            .hasValue("https://dash.example.com");
      }
    }
  }

  @Test
  void cors_preflight_answersListedOriginsOnly() throws Exception {
    try (Harness h = Harness.start(b -> b.allowedOrigins("https://dash.example.com"))) {
      var ok =
          h.http.send(
              java.net.http.HttpRequest.newBuilder(h.uri("/events?topic=t"))
                  .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody())
                  .header("Origin", "https://dash.example.com")
                  .header("Access-Control-Request-Method", "GET")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(ok.statusCode()).isEqualTo(204);
      assertThat(ok.headers().firstValue("access-control-allow-headers").orElse(""))
          .contains("Last-Event-ID");
      var refused =
          h.http.send(
              java.net.http.HttpRequest.newBuilder(h.uri("/api/topics"))
                  .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody())
                  .header("Origin", "https://evil.example")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(403);
    }
  }

  @Test
  void authenticator_throwing_is500_andLogged() throws Exception {
    try (Harness h =
        Harness.start(
            b ->
                b.authenticator(
                    req -> {
                      throw new IllegalStateException("boom");
                    }))) {
      assertError(h.get("/api/topics"), 500, "internal");
    }
  }

  @Test
  void authenticator_seesTokenFromEachPlace() throws Exception {
    java.util.concurrent.BlockingQueue<AuthRequest> seen =
        new java.util.concurrent.LinkedBlockingQueue<>();
    try (Harness h =
        Harness.start(
            b ->
                b.authenticator(
                    req -> {
                      seen.add(req);
                      return Optional.of("x");
                    }))) {
      h.get("/api/topics", "Authorization", "Bearer h1");
      h.get("/api/topics", "Cookie", "watchcast_token=c1");
      h.get("/api/topics?access_token=q1");
      h.get("/api/topics");
      assertThat(seen.take().token()).hasValue("h1");
      assertThat(seen.take().token()).hasValue("c1");
      AuthRequest q = seen.take();
      assertThat(q.token()).hasValue("q1");
      assertThat(q.path()).isEqualTo("/api/topics");
      assertThat(q.remoteAddress()).isEqualTo("127.0.0.1");
      assertThat(seen.take().token()).isEmpty();
    }
  }

  @Test
  void refusedPostWithABody_saysConnectionClose_andReachesAClientThatSendsAllFirst()
      throws Exception {
    try (Harness h =
        Harness.start(
            b -> b.publishEndpoint(true).authenticator(Authenticator.token("s3cret", "script")))) {
      String head =
          "POST /api/topics/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
      String answer = h.raw(head + "Content-Length: 10\r\n\r\n{\"done\":1}");
      assertThat(answer).startsWith("HTTP/1.1 401");
      assertThat(answer.toLowerCase(java.util.Locale.ROOT)).contains("connection: close");
      // A body the server never reads, sent whole before reading: the answer, not a reset.
      assertThat(h.sendAllThenRead(head, 512 * 1024))
          .startsWith("HTTP/1.1 401")
          .contains("\"code\":\"unauthorized\"");
    }
  }

  @Test
  void refusedOversizeBody_sentBeforeReading_getsThe413_notAReset() throws Exception {
    try (Harness h = openPublishing(1024)) {
      String answer =
          h.sendAllThenRead(
              "POST /api/topics/t HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
              1 << 20);
      assertThat(answer).startsWith("HTTP/1.1 413").contains("\"code\":\"payload_too_large\"");
      assertThat(h.hub.topic("t")).isEmpty();
    }
  }

  /** A transport whose publish endpoint takes anyone's bodies of at most {@code maxBytes}. */
  private static Harness openPublishing(int maxBytes) throws Exception {
    return Harness.start(
        b ->
            b.publishEndpoint(true)
                .authenticator(Authenticator.allowAll())
                .maxPublishBytes(maxBytes));
  }
}
