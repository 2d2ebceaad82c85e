package io.watchcast;

import static io.watchcast.ClientMessages.subscribe;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Encode once per publish, share the bytes, frame once per transport. */
final class EncodedMessageTest {
  // Framings take one of 8 JVM-wide slots: create them once, as constants, like a transport.
  private static final AtomicInteger TEXT_BUILDS = new AtomicInteger();
  private static final AtomicInteger SSE_BUILDS = new AtomicInteger();
  private static final EncodedMessage.Framing<String> TEXT =
      EncodedMessage.Framing.of(
          m -> {
            TEXT_BUILDS.incrementAndGet();
            return m.jsonString();
          });
  private static final EncodedMessage.Framing<byte[]> SSE =
      EncodedMessage.Framing.of(
          m -> {
            SSE_BUILDS.incrementAndGet();
            byte[] head = ("id: " + m.id() + "\ndata: ").getBytes(StandardCharsets.US_ASCII);
            byte[] out = new byte[head.length + m.size() + 2];
            System.arraycopy(head, 0, out, 0, head.length);
            m.copyJsonTo(out, head.length);
            out[out.length - 2] = '\n';
            out[out.length - 1] = '\n';
            return out;
          });

  private final ManualScheduler time = new ManualScheduler();
  private ConnectionManager hub;

  @AfterEach
  void closeHub() {
    if (hub != null) {
      hub.close();
    }
  }

  private ConnectionManager hub(ObjectMapper mapper) {
    hub = ConnectionManager.builder().clock(time).scheduler(time).objectMapper(mapper).build();
    return hub;
  }

  private List<FakeConnection> subscribers(int count, String topic) {
    List<FakeConnection> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      FakeConnection c = FakeConnection.connect(hub);
      c.send(subscribe(topic));
      assertThat(c.next().type()).isEqualTo("subscribed");
      out.add(c);
    }
    return out;
  }

  /** An ObjectMapper that counts how often published data is serialized. */
  static final class CountingMapper extends ObjectMapper {
    private static final long serialVersionUID = 1L;
    final AtomicInteger writes = new AtomicInteger();

    @Override
    public byte[] writeValueAsBytes(Object value) throws JsonProcessingException {
      writes.incrementAndGet();
      return super.writeValueAsBytes(value);
    }
  }

  @Test
  void publish_serializesOnce_andEverySubscriberGetsTheSameMessageInstance() {
    CountingMapper mapper = new CountingMapper();
    hub(mapper);
    List<FakeConnection> explicit = subscribers(50, "t");
    List<FakeConnection> wildcard = subscribers(5, "*");
    int writesBefore = mapper.writes.get();

    hub.publish("t", Map.of("cpu", 45.2));

    assertThat(mapper.writes.get() - writesBefore).isEqualTo(1);
    EncodedMessage first = explicit.get(0).nextRaw(Duration.ofSeconds(5));
    for (FakeConnection c : explicit.subList(1, explicit.size())) {
      assertThat(c.nextRaw(Duration.ofSeconds(5))).isSameAs(first);
    }
    for (FakeConnection c : wildcard) {
      assertThat(c.nextRaw(Duration.ofSeconds(5))).isSameAs(first);
    }
  }

  @Test
  void framed_buildsOncePerMessagePerFraming_forAnyNumberOfConnections() {
    hub(new ObjectMapper());
    List<FakeConnection> connections = subscribers(20, "t");
    int textBefore = TEXT_BUILDS.get();
    int sseBefore = SSE_BUILDS.get();

    hub.publish("t", 1);
    hub.publish("t", 2);

    List<String> texts = new ArrayList<>();
    for (FakeConnection c : connections) {
      for (int i = 0; i < 2; i++) {
        EncodedMessage m = c.nextRaw(Duration.ofSeconds(5));
        String text = m.framed(TEXT);
        assertThat(m.framed(TEXT)).isSameAs(text);
        byte[] sse = m.framed(SSE);
        assertThat(m.framed(SSE)).isSameAs(sse);
        assertThat(new String(sse, StandardCharsets.UTF_8))
            .isEqualTo("id: " + m.id() + "\ndata: " + m.jsonString() + "\n\n");
        texts.add(text);
      }
    }
    assertThat(TEXT_BUILDS.get() - textBefore).isEqualTo(2);
    assertThat(SSE_BUILDS.get() - sseBefore).isEqualTo(2);
    assertThat(texts.get(0)).isSameAs(texts.get(2)); // connection 1 and 2 share message 1's form
  }

  @Test
  void envelope_hasTheDocumentedFieldsInOrder() {
    hub(new ObjectMapper());
    FakeConnection c = subscribers(1, "t").get(0);

    hub.publish("t", Map.of("cpu", 1));

    EncodedMessage m = c.nextRaw(Duration.ofSeconds(5));
    String epoch = hub.topic("t").orElseThrow().epoch();
    assertThat(m.jsonString())
        .isEqualTo(
            "{\"type\":\"update\",\"topic\":\"t\",\"data\":{\"cpu\":1},\"timestamp\":"
                + time.millis()
                + ",\"id\":1,\"epoch\":\""
                + epoch
                + "\"}");
    assertThat(m.type()).isEqualTo("update");
    assertThat(m.topic()).isEqualTo("t");
    assertThat(m.id()).isEqualTo(1);
    assertThat(m.epoch()).isEqualTo(epoch);
    assertThat(m.timestamp()).isEqualTo(time.millis());
    assertThat(m.conflatable()).isFalse();
    assertThat(m.toString()).isEqualTo(m.jsonString());
  }

  @Test
  void controlMessages_haveNoIdAndNoEpoch() {
    hub(new ObjectMapper());
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ClientMessages.ping());

    EncodedMessage pong = c.nextRaw(Duration.ofSeconds(5));
    assertThat(pong.jsonString())
        .isEqualTo(
            "{\"type\":\"pong\",\"topic\":\"system\",\"data\":{},\"timestamp\":"
                + time.millis()
                + "}");
    assertThat(pong.id()).isZero();
    assertThat(pong.epoch()).isNull();
  }

  @Test
  void bytes_areUtf8_theSizeCountsBytes_andTheViewIsReadOnly() {
    hub(new ObjectMapper());
    FakeConnection c = subscribers(1, "t").get(0);

    hub.publish("t", "caf\u00e9 \ud83d\ude00");

    EncodedMessage m = c.nextRaw(Duration.ofSeconds(5));
    byte[] expected = m.jsonString().getBytes(StandardCharsets.UTF_8);
    assertThat(m.size()).isEqualTo(expected.length);
    ByteBuffer view = m.json();
    assertThat(view.remaining()).isEqualTo(expected.length);
    assertThat(view.isReadOnly()).isTrue();
    assertThatThrownBy(() -> view.put(0, (byte) 'x')).isInstanceOf(ReadOnlyBufferException.class);
    byte[] copy = new byte[expected.length + 3];
    m.copyJsonTo(copy, 3);
    assertThat(java.util.Arrays.copyOfRange(copy, 3, copy.length)).isEqualTo(expected);
    assertThat(Envelope.parse(m.jsonString()).data().asText()).isEqualTo("caf\u00e9 \ud83d\ude00");
  }

  @Test
  void latestTopicMessages_areConflatable_andTheirSnapshotsAreNot() {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .topic("s", TopicOptions.of(Throttle.latest(Duration.ofMillis(100))))
            .build();
    FakeConnection c = subscribers(1, "s").get(0);

    hub.publish("s", 1);

    assertThat(c.nextRaw(Duration.ofSeconds(5)).conflatable()).isTrue();
    assertThat(hub.snapshot("s").orElseThrow().conflatable()).isFalse();
  }

  @Test
  void framing_thatReturnsNull_failsClearly() {
    hub(new ObjectMapper());
    FakeConnection c = subscribers(1, "t").get(0);
    hub.publish("t", 1);
    EncodedMessage m = c.nextRaw(Duration.ofSeconds(5));

    assertThatThrownBy(() -> m.framed(NULL_FRAMING))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("null");
  }

  private static final EncodedMessage.Framing<Object> NULL_FRAMING =
      EncodedMessage.Framing.of(m -> null);
}
