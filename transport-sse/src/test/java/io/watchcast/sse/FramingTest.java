package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.ConnectionManager;
import io.watchcast.EncodedMessage;
import io.watchcast.RawJson;
import io.watchcast.testing.FakeConnection;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Jetty-free parts: SSE framing, the resume id, ETags, CORS. */
final class FramingTest {

  private static EncodedMessage publishAndTake(ConnectionManager hub, String topic, Object data) {
    FakeConnection c = new FakeConnection();
    c.attach(hub.register(c));
    c.stall();
    c.session().subscribe(topic, -1, null);
    hub.publish(topic, data);
    List<EncodedMessage> out = new java.util.ArrayList<>();
    c.session().drainTo(out, Integer.MAX_VALUE);
    c.session().close();
    return out.get(out.size() - 1);
  }

  @Test
  void frame_topicMessage_hasIdEventAndData_andIsBuiltOnce() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      EncodedMessage m = publishAndTake(hub, "stats", 42);
      SseFrames.SseEvent e = m.framed(SseFrames.FRAMING);
      String text = new String(e.bytes, StandardCharsets.UTF_8);
      assertThat(text)
          .isEqualTo(
              "id: stats~" + m.epoch() + "~1\nevent: update\ndata: " + m.jsonString() + "\n\n");
      assertThat(new String(e.bytes, e.bodyOffset, e.bodyLength(), StandardCharsets.UTF_8))
          .startsWith("event: update\n");
      assertThat(m.framed(SseFrames.FRAMING)).isSameAs(e);
    }
  }

  @Test
  void frame_jsonWithCrLfCrAndLf_becomesOneDataLinePerLine() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      EncodedMessage m = publishAndTake(hub, "t", RawJson.of("[1,\r\n2,\r3,\n4]"));
      String text = new String(m.framed(SseFrames.FRAMING).bytes, StandardCharsets.UTF_8);
      assertThat(text).doesNotContain("\r");
      assertThat(text)
          .contains(
              "data: {\"type\":\"update\",\"topic\":\"t\",\"data\":[1,\ndata: 2,\ndata: 3,\ndata: 4]");
      assertThat(text).endsWith("\n\n");
    }
  }

  @Test
  void resumeVector_parseAndFormat_roundTrip() {
    ResumeVector v = ResumeVector.parse("a~k3x9ab~42,b.c:d-e_f~1zz~0", 32, 8192);
    assertThat(v.get("a")).isEqualTo(new ResumeVector.Position("k3x9ab", 42));
    assertThat(v.get("b.c:d-e_f")).isEqualTo(new ResumeVector.Position("1zz", 0));
    assertThat(v.format()).isEqualTo("a~k3x9ab~42,b.c:d-e_f~1zz~0");
    assertThat(ResumeVector.parse(null, 32, 8192).size()).isZero();
    assertThat(ResumeVector.parse(" ", 32, 8192).size()).isZero();
  }

  @Test
  void resumeVector_parse_rejectsMalformedIds() {
    for (String bad :
        List.of(
            "a",
            "a~b",
            "~abc~1",
            "a~~1",
            "a~abc~",
            "a~ABC~1",
            "a~abc~1~2",
            "a b~abc~1",
            "a~abc~1,",
            "a~abc~1,a~abc~2",
            "a~abc~+1",
            "a~abcdefghijklmnopq~1",
            "system~abc~1")) {
      assertThatThrownBy(() -> ResumeVector.parse(bad, 32, 8192))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("Last-Event-ID");
    }
    assertThatThrownBy(() -> ResumeVector.parse("a~x~1,b~x~1", 1, 8192))
        .hasMessageContaining("more than 1 topics");
    assertThatThrownBy(() -> ResumeVector.parse("a~x~1", 32, 4)).hasMessageContaining("at most 4");
  }

  @Test
  void resumeVector_advance_capsEntriesAtTheLimit() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      ResumeVector v = new ResumeVector(1);
      assertThat(v.advance(publishAndTake(hub, "a", 1))).isTrue();
      assertThat(v.advance(publishAndTake(hub, "b", 1))).isFalse();
      assertThat(v.topics()).containsExactly("a");
    }
  }

  @Test
  void etag_matchesStrongWeakListsAndStar() {
    assertThat(Snapshots.notModified("\"e-1\"", "\"e-1\"")).isTrue();
    assertThat(Snapshots.notModified("W/\"e-1\"", "\"e-1\"")).isTrue();
    assertThat(Snapshots.notModified("\"x\", \"e-1\"", "\"e-1\"")).isTrue();
    assertThat(Snapshots.notModified("*", "\"e-1\"")).isTrue();
    assertThat(Snapshots.notModified("\"e-2\"", "\"e-1\"")).isFalse();
    assertThat(Snapshots.notModified(null, "\"e-1\"")).isFalse();
  }

  @Test
  void cors_normalizesDefaultPortsAndCase() {
    CorsPolicy p = new CorsPolicy(List.of("https://Dash.Example.com:443"));
    assertThat(p.isListed("https://dash.example.com")).isTrue();
    assertThat(p.isListed("http://dash.example.com")).isFalse();
    assertThat(p.allows(null, "http", "127.0.0.1:8080")).isTrue();
    assertThat(p.allows("http://127.0.0.1:8080", "http", "127.0.0.1:8080")).isTrue();
    assertThat(p.allows("http://127.0.0.1:9090", "http", "127.0.0.1:8080")).isFalse();
    assertThat(p.allows("null", "http", "127.0.0.1:8080")).isFalse();
  }

  @Test
  void builder_rejectsBadValuesAndSecondCalls() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      assertThatThrownBy(() -> SseTransport.builder(hub).port(70000))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> SseTransport.builder(hub).port(1).port(2))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already set");
      assertThatThrownBy(() -> SseTransport.builder(hub).eventsPath("events"))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> SseTransport.builder(hub).sendBufferBytes(1024))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("at least 4096");
      assertThatThrownBy(() -> SseTransport.builder(hub).allowedOrigins("not an origin"))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> SseTransport.builder(hub).eventsPath("/x").topicsPath("/x").build())
          .isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> SseTransport.builder(hub).build().port())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("not started");
    }
  }
}
