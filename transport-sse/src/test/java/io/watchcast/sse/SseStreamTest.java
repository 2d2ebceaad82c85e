package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

final class SseStreamTest {

  @Test
  void stream_oneTopic_receivesEventsInOrderWithFraming() throws Exception {
    try (Harness h = Harness.start(b -> b.retry(Duration.ofMillis(1500)));
        SseClient c = h.stream("/events?topic=stats")) {
      HttpResponse.ResponseInfo r = c.awaitResponse();
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type")).hasValue("text/event-stream");
      assertThat(r.headers().firstValue("cache-control").orElse("")).contains("no-cache");
      SseClient.Event subscribed = c.next();
      assertThat(subscribed.event()).isEqualTo("subscribed");
      assertThat(c.retry.get()).isEqualTo("1500");
      for (int i = 1; i <= 20; i++) {
        h.hub.publish("stats", Map.of("n", i));
      }
      for (int i = 1; i <= 20; i++) {
        SseClient.Event e = c.next();
        Envelope env = Envelope.parse(e.data());
        assertThat(e.event()).isEqualTo("update");
        assertThat(env.type()).isEqualTo("update");
        assertThat(env.topic()).isEqualTo("stats");
        assertThat(env.id()).isEqualTo(i);
        assertThat(env.data().get("n").asInt()).isEqualTo(i);
        assertThat(e.id()).isEqualTo("stats~" + env.epoch() + "~" + i);
      }
    }
  }

  @Test
  void stream_dataWithLineBreaks_isSplitIntoDataLinesAndJoinedBack() throws Exception {
    try (Harness h = Harness.start();
        SseClient c = h.stream("/events?topic=raw")) {
      c.nextOfType("subscribed");
      h.hub.publish("raw", RawJson.of("{\n  \"a\": 1,\r\n  \"b\": [2,\r3]\n}"));
      SseClient.Event e = c.nextOfType("update");
      assertThat(Envelope.parse(e.data()).data().get("b").get(1).asInt()).isEqualTo(3);
      assertThat(e.data()).contains("\n  \"a\": 1,\n  \"b\"");
    }
  }

  @Test
  void stream_twoTopics_idCarriesEveryTopicsPosition() throws Exception {
    try (Harness h = Harness.start();
        SseClient c = h.stream("/events?topic=a&topic=b")) {
      c.nextOfType("subscribed");
      c.nextOfType("subscribed");
      h.hub.publish("a", 1);
      h.hub.publish("b", 2);
      h.hub.publish("a", 3);
      String ea = h.hub.topic("a").orElseThrow().epoch();
      String eb = h.hub.topic("b").orElseThrow().epoch();
      // Each subscribed (id 0) already recorded the topic, so the vector holds both from the start.
      assertThat(c.nextOfType("update").id()).isEqualTo("a~" + ea + "~1,b~" + eb + "~0");
      assertThat(c.nextOfType("update").id()).isEqualTo("a~" + ea + "~1,b~" + eb + "~1");
      assertThat(c.nextOfType("update").id()).isEqualTo("a~" + ea + "~2,b~" + eb + "~1");
    }
  }

  @Test
  void stream_commaSeparatedTopics_areSubscribed() throws Exception {
    try (Harness h = Harness.start();
        SseClient c = h.stream("/events?topic=a,b")) {
      c.nextOfType("subscribed");
      c.nextOfType("subscribed");
      h.hub.publish("b", 2);
      assertThat(Envelope.parse(c.nextOfType("update").data()).topic()).isEqualTo("b");
    }
  }

  @Test
  void stream_existingTopic_getsSnapshotFirst() throws Exception {
    try (Harness h = Harness.start()) {
      h.hub.publish("stats", Map.of("cpu", 1));
      h.hub.publish("stats", Map.of("cpu", 2));
      try (SseClient c = h.stream("/events?topic=stats")) {
        c.nextOfType("subscribed");
        SseClient.Event snap = c.next();
        assertThat(snap.event()).isEqualTo("snapshot");
        Envelope env = Envelope.parse(snap.data());
        assertThat(env.id()).isEqualTo(2);
        assertThat(env.data().get("cpu").asInt()).isEqualTo(2);
        assertThat(snap.id()).isEqualTo("stats~" + env.epoch() + "~2");
      }
    }
  }

  @Test
  void stream_wildcard_receivesEveryTopic() throws Exception {
    try (Harness h = Harness.start();
        SseClient c = h.stream("/events?topic=*")) {
      c.nextOfType("subscribed");
      h.hub.publish("x", 1);
      h.hub.publish("y", 2);
      assertThat(Envelope.parse(c.nextOfType("update").data()).topic()).isEqualTo("x");
      SseClient.Event y = c.nextOfType("update");
      assertThat(Envelope.parse(y.data()).topic()).isEqualTo("y");
      assertThat(y.id()).contains("x~").contains("y~");
    }
  }

  @Test
  void stream_idle_sendsHeartbeatComments() throws Exception {
    try (Harness h = Harness.start(b -> b.heartbeat(Duration.ofMillis(50)));
        SseClient c = h.stream("/events?topic=quiet")) {
      c.nextOfType("subscribed");
      int before = c.comments.get();
      Harness.await("three heartbeats", () -> c.comments.get() >= before + 3);
      h.hub.publish("quiet", 1);
      assertThat(c.nextOfType("update")).isNotNull();
    }
  }

  @Test
  void stream_forbiddenByAuthorizer_is403() throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder().authorizer((conn, topic) -> !topic.equals("secret")).build();
    try (Harness h = new Harness(hub, b -> {})) {
      HttpResponse<String> r = h.get("/events?topic=ok&topic=secret");
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.body()).contains("\"code\":\"forbidden\"").contains("secret");
      Harness.await("no stream left", () -> h.transport.streamCount() == 0);
      assertThat(hub.stats().connections()).isZero();
    }
  }

  @Test
  void stream_authorizerSeesPrincipalFromToken() throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder()
            .authorizer(
                (conn, topic) ->
                    conn.principal()
                        .map(p -> p.equals("alice") || !topic.equals("admin"))
                        .orElse(false))
            .build();
    try (Harness h =
        new Harness(
            hub,
            b ->
                b.authenticator(
                    req ->
                        req.token()
                            .map(t -> t.equals("a-token") ? (Object) "alice" : (Object) "bob")))) {
      assertThat(h.get("/events?topic=admin&access_token=b-token").statusCode()).isEqualTo(403);
      try (SseClient c = h.stream("/events?topic=admin&access_token=a-token")) {
        assertThat(c.awaitResponse().statusCode()).isEqualTo(200);
        c.nextOfType("subscribed");
      }
    }
  }

  @Test
  void badRequests_getClear4xx() throws Exception {
    try (Harness h = Harness.start()) {
      assertError(h.get("/events"), 400, "missing_topic");
      assertError(h.get("/events?topic="), 400, "invalid_topic");
      assertError(h.get("/events?topic=bad%20name"), 400, "invalid_topic");
      assertError(h.get("/events?topic=system"), 400, "invalid_topic");
      assertError(h.get("/events?topic=" + "x".repeat(129)), 400, "invalid_topic");
      assertError(h.get("/events?topic=a&lastEventId=garbage"), 400, "invalid_last_event_id");
      assertError(
          h.get("/events?topic=a", "Last-Event-ID", "a~EPOCH~1"), 400, "invalid_last_event_id");
      assertError(
          h.get("/events?topic=a", "Last-Event-ID", "a~abc~-1"), 400, "invalid_last_event_id");
      assertError(
          h.get("/events?topic=a", "Last-Event-ID", "a~abc~99999999999999999999"),
          400,
          "invalid_last_event_id");
      assertError(
          h.get("/events?topic=a&lastEventId=a~x~1&lastEventId=a~x~2"),
          400,
          "invalid_last_event_id");
      StringBuilder many = new StringBuilder("/events?topic=t0");
      for (int i = 1; i <= 32; i++) {
        many.append("&topic=t").append(i);
      }
      assertError(h.get(many.toString()), 400, "too_many_topics");
      HttpResponse<String> post = h.post("/events?topic=a", "{}");
      assertError(post, 405, "method_not_allowed");
      assertThat(post.headers().firstValue("allow")).hasValue("GET");
      assertThat(h.transport.streamCount()).isZero();
      assertThat(h.hub.stats().connections()).isZero();
    }
  }

  @Test
  void maxTopicsPerStream_atTheLimit_isAccepted() throws Exception {
    try (Harness h = Harness.start(b -> b.maxTopicsPerStream(3))) {
      try (SseClient c = h.stream("/events?topic=a&topic=b&topic=c")) {
        assertThat(c.awaitResponse().statusCode()).isEqualTo(200);
      }
      assertError(h.get("/events?topic=a&topic=b&topic=c&topic=d"), 400, "too_many_topics");
    }
  }

  @Test
  void maxStreams_pastTheLimit_is503() throws Exception {
    try (Harness h = Harness.start(b -> b.maxStreams(2).heartbeat(Duration.ofMillis(50)));
        SseClient a = h.stream("/events?topic=a");
        SseClient b = h.stream("/events?topic=a")) {
      a.nextOfType("subscribed");
      b.nextOfType("subscribed");
      assertError(h.get("/events?topic=a"), 503, "too_many_streams");
      a.close();
      Harness.await("a's stream to end", () -> h.transport.streamCount() == 1);
    }
  }

  @Test
  void slowConsumerOfHub_streamIsEnded() throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(4096).stallTimeout(Duration.ZERO).build())
            .build();
    try (Harness h = new Harness(hub, b -> {});
        StalledReader stalled = StalledReader.open(h, "/events?topic=flood")) {
      stalled.awaitHeaders();
      byte[] big = new byte[8000];
      java.util.Arrays.fill(big, (byte) 'x');
      String payload = "\"" + new String(big, java.nio.charset.StandardCharsets.US_ASCII) + "\"";
      for (int i = 0; i < 2000 && h.transport.streamCount() > 0; i++) {
        hub.publish("flood", RawJson.of(payload));
      }
      Harness.await("the stalled stream to be closed", () -> h.transport.streamCount() == 0);
      assertThat(hub.stats().slowConsumersClosed()).isEqualTo(1);
    }
  }

  static void assertError(HttpResponse<String> r, int status, String code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(r.body()).contains("\"code\":\"" + code + "\"").contains("\"message\":");
  }
}
