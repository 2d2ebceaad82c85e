package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import java.util.Map;
import org.junit.jupiter.api.Test;

final class SmokeTest {
  @Test
  void publish_reachesSubscriber_withSnapshotOnSubscribe() {
    try (ConnectionManager hub = ConnectionManager.builder().build()) {
      hub.publish("stats", Map.of("cpu", 1));
      FakeConnection c = new FakeConnection();
      c.attach(hub.register(c));
      c.session().receive("{\"action\":\"subscribe\",\"topic\":\"stats\"}");
      assertThat(c.next().type()).isEqualTo("subscribed");
      Envelope snap = c.next();
      assertThat(snap.type()).isEqualTo("snapshot");
      assertThat(snap.id()).isEqualTo(1);
      assertThat(snap.data().get("cpu").asInt()).isEqualTo(1);
      hub.publish("stats", Map.of("cpu", 2));
      Envelope up = c.next();
      assertThat(up.type()).isEqualTo("update");
      assertThat(up.id()).isEqualTo(2);
      assertThat(up.epoch()).isEqualTo(snap.epoch());
      c.assertExhausted();
    }
  }
}
