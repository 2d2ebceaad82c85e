package io.watchcast;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;

/** Client-to-server messages as a browser would send them, and helpers to read replies. */
final class ClientMessages {
  private ClientMessages() {}

  /** A new connection that subscribed to {@code topics} and took each {@code subscribed} reply. */
  static FakeConnection subscriber(ConnectionManager hub, String... topics) {
    FakeConnection c = FakeConnection.connect(hub);
    for (String topic : topics) {
      c.send(subscribe(topic));
      assertThat(c.next().type()).isEqualTo("subscribed");
    }
    return c;
  }

  static String subscribe(String topic) {
    return "{\"action\":\"subscribe\",\"topic\":\"" + topic + "\"}";
  }

  static String subscribe(String topic, long since, String epoch) {
    return "{\"action\":\"subscribe\",\"topic\":\""
        + topic
        + "\",\"since\":"
        + since
        + ",\"epoch\":\""
        + epoch
        + "\"}";
  }

  static String unsubscribe(String topic) {
    return "{\"action\":\"unsubscribe\",\"topic\":\"" + topic + "\"}";
  }

  static String ping() {
    return "{\"action\":\"ping\"}";
  }

  /** The {@code code} of an {@code error} envelope. */
  static String code(Envelope e) {
    if (!e.type().equals("error")) {
      throw new AssertionError("expected an error, got " + e);
    }
    return e.data().path("code").asText();
  }
}
