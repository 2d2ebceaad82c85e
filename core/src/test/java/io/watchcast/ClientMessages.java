package io.watchcast;

/** Client-to-server messages as a browser would send them, and helpers to read replies. */
final class ClientMessages {
  private ClientMessages() {}

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
