package io.watchcast;

import static io.watchcast.ClientMessages.code;
import static io.watchcast.ClientMessages.ping;
import static io.watchcast.ClientMessages.subscribe;
import static io.watchcast.ClientMessages.unsubscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Client messages as {@link Session#receive(String)} handles them: every bad input gets an {@code
 * error} with its stable code, and the connection keeps working unless a limit says otherwise.
 */
final class ProtocolTest {
  private final ManualScheduler time = new ManualScheduler();
  private ConnectionManager hub;

  private ConnectionManager hub(Limits limits) {
    return hub(ConnectionManager.builder().limits(limits));
  }

  private ConnectionManager hub(ConnectionManager.Builder builder) {
    hub = builder.clock(time).scheduler(time).build();
    return hub;
  }

  @AfterEach
  void closeHub() {
    if (hub != null) {
      hub.close();
    }
  }

  /** Asserts {@code c} still works: a subscribe to a fresh topic is answered {@code subscribed}. */
  private static void assertStillWorks(FakeConnection c) {
    assertThat(c.session().isClosed()).isFalse();
    assertThat(c.closeReason()).isNull();
    String topic = "still-works-" + c.id();
    c.send(subscribe(topic));
    Envelope e = c.next();
    assertThat(e.type()).as("reply to a subscribe after an error: %s", e).isEqualTo("subscribed");
    assertThat(e.topic()).isEqualTo(topic);
    c.assertExhausted();
  }

  static Stream<Arguments> badInput() {
    String t129 = "t".repeat(129);
    return Stream.of(
        Arguments.of("not json", "invalid_json", "system"),
        Arguments.of("{\"action\":", "invalid_json", "system"),
        Arguments.of("{'action':'ping'}", "invalid_json", "system"),
        Arguments.of("[".repeat(5_000), "invalid_json", "system"),
        Arguments.of("", "invalid_json", "system"),
        Arguments.of("   ", "invalid_json", "system"),
        Arguments.of("{\"action\":\"ping\"} trailing", "invalid_json", "system"),
        Arguments.of("{\"action\":\"ping\"}{\"action\":\"ping\"}", "invalid_json", "system"),
        Arguments.of("[1,2]", "invalid_message", "system"),
        Arguments.of("42", "invalid_message", "system"),
        Arguments.of("\"subscribe\"", "invalid_message", "system"),
        Arguments.of("null", "invalid_message", "system"),
        Arguments.of("{}", "invalid_message", "system"),
        Arguments.of("{\"topic\":\"a\"}", "invalid_message", "system"),
        Arguments.of("{\"action\":5}", "invalid_message", "system"),
        Arguments.of("{\"action\":null}", "invalid_message", "system"),
        Arguments.of("{\"action\":[\"ping\"]}", "invalid_message", "system"),
        Arguments.of("{\"action\":true}", "invalid_message", "system"),
        Arguments.of("{\"action\":\"dance\"}", "unknown_action", "system"),
        Arguments.of("{\"action\":\"SUBSCRIBE\",\"topic\":\"a\"}", "unknown_action", "system"),
        Arguments.of("{\"action\":\"\"}", "unknown_action", "system"),
        Arguments.of("{\"action\":\"subscribe\"}", "missing_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":null}", "missing_topic", "system"),
        Arguments.of("{\"action\":\"unsubscribe\"}", "missing_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":5}", "invalid_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":{\"a\":1}}", "invalid_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":[\"a\"]}", "invalid_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":\"\"}", "invalid_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":\"a b\"}", "invalid_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":\"a/b\"}", "invalid_topic", "system"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"caf\u00e9\"}", "invalid_topic", "system"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\\u0000\"}", "invalid_topic", "system"),
        Arguments.of("{\"action\":\"subscribe\",\"topic\":\"system\"}", "invalid_topic", "system"),
        Arguments.of(subscribe(t129), "invalid_topic", "system"),
        Arguments.of(unsubscribe("a b"), "invalid_topic", "system"),
        Arguments.of(unsubscribe("system"), "invalid_topic", "system"),
        Arguments.of(unsubscribe(t129), "invalid_topic", "system"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":-1}", "invalid_message", "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":1.5}", "invalid_message", "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":\"5\"}", "invalid_message", "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":true}", "invalid_message", "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":[1]}", "invalid_message", "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":1e30}", "invalid_message", "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":99999999999999999999}",
            "invalid_message",
            "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":1,\"epoch\":5}",
            "invalid_message",
            "a"),
        Arguments.of(
            "{\"action\":\"subscribe\",\"topic\":\"a\",\"since\":1,\"epoch\":{}}",
            "invalid_message",
            "a"));
  }

  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @MethodSource("badInput")
  void badInput_isAnsweredWithItsErrorCode_andTheConnectionStillWorks(
      String input, String expectedCode, String expectedTopic) {
    hub(Limits.defaults());
    FakeConnection c = FakeConnection.connect(hub);

    c.send(input);

    Envelope error = c.next();
    assertThat(code(error)).isEqualTo(expectedCode);
    assertThat(error.topic()).isEqualTo(expectedTopic);
    assertThat(error.data().path("message").asText()).isNotBlank();
    assertThat(error.id()).isZero();
    assertThat(error.epoch()).isNull();
    c.assertExhausted();
    assertThat(hub.stats().clientErrors()).isEqualTo(1);
    assertStillWorks(c);
  }

  @Test
  void badInput_neverReachesAnotherConnection() {
    hub(Limits.defaults());
    FakeConnection good = FakeConnection.connect(hub);
    good.send(subscribe("a"));
    assertThat(good.next().type()).isEqualTo("subscribed");
    FakeConnection bad = FakeConnection.connect(hub);
    badInput().forEach(args -> bad.send((String) args.get()[0]));
    hub.publish("a", 1);

    assertThat(good.next().data().asInt()).isEqualTo(1);
    good.assertExhausted();
    assertThat(bad.takeAll()).allMatch(e -> e.type().equals("error"));
  }

  @Test
  void topicName_of128Characters_andEveryAllowedCharacter_isAccepted() {
    hub(Limits.defaults());
    FakeConnection c = FakeConnection.connect(hub);
    String t128 = "x".repeat(128);

    c.send(subscribe(t128));
    c.send(subscribe("Az09._:-"));

    Envelope first = c.next();
    assertThat(first.type()).isEqualTo("subscribed");
    assertThat(first.topic()).isEqualTo(t128);
    assertThat(c.next().topic()).isEqualTo("Az09._:-");
  }

  @Test
  void ping_isAnsweredWithPongOnSystem() {
    hub(Limits.defaults());
    FakeConnection c = FakeConnection.connect(hub);

    c.send(ping());

    Envelope pong = c.next();
    assertThat(pong.type()).isEqualTo("pong");
    assertThat(pong.topic()).isEqualTo("system");
    assertThat(pong.id()).isZero();
    assertThat(pong.epoch()).isNull();
    assertThat(pong.timestamp()).isEqualTo(time.millis());
  }

  @Test
  void unknownFields_areIgnored() {
    hub(Limits.defaults());
    FakeConnection c = FakeConnection.connect(hub);

    c.send("{\"action\":\"subscribe\",\"topic\":\"a\",\"extra\":{\"x\":[1,2]},\"v\":2}");

    assertThat(c.next().type()).isEqualTo("subscribed");
  }

  // ---------------------------------------------------------------------------------------------
  // maxMessageBytes

  /** A subscribe message of exactly {@code bytes} UTF-8 bytes, padded with {@code pad}. */
  private static String subscribeOfBytes(int bytes, String pad) {
    String head = "{\"action\":\"subscribe\",\"topic\":\"big\",\"pad\":\"";
    String tail = "\"}";
    int padBytes = pad.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    int room = bytes - head.length() - tail.length();
    StringBuilder sb = new StringBuilder(head);
    while (room >= padBytes) {
      sb.append(pad);
      room -= padBytes;
    }
    sb.append("a".repeat(room)).append(tail);
    String s = sb.toString();
    assertThat(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)).hasSize(bytes);
    return s;
  }

  @Test
  void messageOfExactlyMaxMessageBytes_isAccepted() {
    hub(Limits.builder().maxMessageBytes(300).build());
    FakeConnection c = FakeConnection.connect(hub);

    c.send(subscribeOfBytes(300, "a"));

    assertThat(c.next().type()).isEqualTo("subscribed");
  }

  @Test
  void messageOneBytePastMaxMessageBytes_isMessageTooLarge_andTheConnectionStillWorks() {
    hub(Limits.builder().maxMessageBytes(300).build());
    FakeConnection c = FakeConnection.connect(hub);

    c.send(subscribeOfBytes(301, "a"));

    Envelope error = c.next();
    assertThat(code(error)).isEqualTo("message_too_large");
    assertThat(error.data().path("message").asText()).contains("300");
    assertThat(hub.topic("big")).isEmpty();
    assertStillWorks(c);
  }

  @Test
  void messageSize_countsUtf8Bytes_notCharacters() {
    hub(Limits.builder().maxMessageBytes(300).build());
    FakeConnection c = FakeConnection.connect(hub);
    String twoByte = subscribeOfBytes(301, "\u00e9"); // é
    String threeByte = subscribeOfBytes(301, "\u20ac"); // €
    String fourByte = subscribeOfBytes(301, "\ud83d\ude00"); // 😀, two chars
    assertThat(twoByte.length()).isLessThan(300);
    assertThat(fourByte.length()).isLessThan(300);

    for (String tooLarge : new String[] {twoByte, threeByte, fourByte}) {
      c.send(tooLarge);
      assertThat(code(c.next())).isEqualTo("message_too_large");
    }
    for (String pad : new String[] {"\u00e9", "\u20ac", "\ud83d\ude00"}) {
      c.send(subscribeOfBytes(300, pad));
      assertThat(c.next().type()).isEqualTo("subscribed");
    }
  }

  @Test
  void defaultMaxMessageBytes_is64KiB_atTheEdge() {
    hub(Limits.defaults());
    FakeConnection c = FakeConnection.connect(hub);
    assertThat(Limits.defaults().maxMessageBytes()).isEqualTo(65_536);

    c.send(subscribeOfBytes(65_536, "\u00e9"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    c.send(subscribeOfBytes(65_537, "\u00e9"));
    assertThat(code(c.next())).isEqualTo("message_too_large");
  }

  // ---------------------------------------------------------------------------------------------
  // maxSubscriptions, maxTopics

  @Test
  void subscriptionsUpToTheLimit_areAccepted_andOneMore_isTooManySubscriptions() {
    hub(Limits.builder().maxSubscriptions(3).build());
    FakeConnection c = FakeConnection.connect(hub);
    for (String t : new String[] {"a", "b", "c"}) {
      c.send(subscribe(t));
      assertThat(c.next().type()).isEqualTo("subscribed");
    }
    assertThat(c.session().subscriptionCount()).isEqualTo(3);

    c.send(subscribe("d"));
    Envelope error = c.next();
    assertThat(code(error)).isEqualTo("too_many_subscriptions");
    assertThat(error.topic()).isEqualTo("d");
    assertThat(error.data().path("message").asText()).contains("3");

    // Subscribing again to a topic it has is not a new subscription.
    c.send(subscribe("a"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    // Nor is the connection harmed: after an unsubscribe, a new subscription fits.
    c.send(unsubscribe("c"));
    assertThat(c.next().type()).isEqualTo("unsubscribed");
    c.send(subscribe("d"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    assertThat(c.session().isClosed()).isFalse();
  }

  @Test
  void wildcard_countsAsOneSubscription_atTheEdge() {
    hub(Limits.builder().maxSubscriptions(2).build());
    FakeConnection c = FakeConnection.connect(hub);
    hub.publish("x", 1);
    hub.publish("y", 1);
    hub.publish("z", 1);

    c.send(subscribe("a"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    c.send(subscribe("*"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    c.takeAll(); // snapshots
    assertThat(c.session().subscriptionCount()).isEqualTo(2);

    c.send(subscribe("b"));
    assertThat(code(c.next())).isEqualTo("too_many_subscriptions");
    c.send(subscribe("*")); // already there: not a new subscription
    assertThat(c.next().type()).isEqualTo("subscribed");

    c.send(unsubscribe("a"));
    c.takeAll();
    c.send(subscribe("b"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    c.send(subscribe("c"));
    assertThat(code(c.next())).isEqualTo("too_many_subscriptions");
  }

  @Test
  void wildcardPastTheSubscriptionLimit_isTooManySubscriptions() {
    hub(Limits.builder().maxSubscriptions(1).build());
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("a"));
    assertThat(c.next().type()).isEqualTo("subscribed");

    c.send(subscribe("*"));

    Envelope error = c.next();
    assertThat(code(error)).isEqualTo("too_many_subscriptions");
    assertThat(error.topic()).isEqualTo("*");
  }

  @Test
  void newTopicPastMaxTopics_isTooManyTopics_butExistingTopicsStillWork() {
    hub(Limits.builder().maxTopics(2).build());
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("a"));
    c.send(subscribe("b"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    assertThat(c.next().type()).isEqualTo("subscribed");

    c.send(subscribe("c"));

    Envelope error = c.next();
    assertThat(code(error)).isEqualTo("too_many_topics");
    assertThat(error.topic()).isEqualTo("c");
    assertThat(hub.topic("c")).isEmpty();
    // Topics that clients made by subscribing have their own budget: the application's is whole.
    assertThat(hub.publish("c", 1)).isTrue();
    assertThat(hub.publish("d", 1)).isTrue();
    assertThat(hub.publish("e", 1)).isFalse();
    assertThat(hub.stats().publishFailures()).isEqualTo(1);
    FakeConnection other = FakeConnection.connect(hub);
    other.send(subscribe("a"));
    assertThat(other.next().type()).isEqualTo("subscribed");
    assertThat(hub.publish("a", 1)).isTrue();
    assertThat(c.next().data().asInt()).isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Authorization

  @Test
  void subscribeRefusedByTheAuthorizer_isForbidden_andTheConnectionStaysOpen() {
    hub(
        ConnectionManager.builder()
            .authorizer((conn, topic) -> !topic.startsWith("secret") && !topic.equals("*")));
    FakeConnection c = FakeConnection.connect(hub);
    hub.publish("secret", "hidden");

    c.send(subscribe("secret"));
    Envelope error = c.next();
    assertThat(code(error)).isEqualTo("forbidden");
    assertThat(error.topic()).isEqualTo("secret");
    c.send(subscribe("*"));
    assertThat(code(c.next())).isEqualTo("forbidden");
    c.assertExhausted(); // no snapshot leaked
    hub.publish("secret", "still hidden");
    c.assertExhausted();

    assertStillWorks(c);
    assertThat(hub.topic("secret").orElseThrow().subscribers()).isZero();
  }

  @Test
  void authorizer_seesTheConnectionAndItsPrincipal() {
    hub(
        ConnectionManager.builder()
            .authorizer((conn, topic) -> conn.principal().filter("alice"::equals).isPresent()));
    FakeConnection alice = new FakeConnection().principal("alice");
    alice.attach(hub.register(alice));
    FakeConnection bob = new FakeConnection().principal("bob");
    bob.attach(hub.register(bob));

    alice.send(subscribe("a"));
    bob.send(subscribe("a"));

    assertThat(alice.next().type()).isEqualTo("subscribed");
    assertThat(code(bob.next())).isEqualTo("forbidden");
  }

  @Test
  void authorizerThatThrows_refuses_withForbidden() {
    hub(
        ConnectionManager.builder()
            .authorizer(
                (conn, topic) -> {
                  if (topic.equals("boom")) {
                    throw new IllegalStateException("authorizer failure switch");
                  }
                  return true;
                }));
    FakeConnection c = FakeConnection.connect(hub);

    c.send(subscribe("boom"));

    assertThat(code(c.next())).isEqualTo("forbidden");
    assertStillWorks(c);
  }

  // ---------------------------------------------------------------------------------------------
  // Rate limit

  @Test
  void messagesPastTheBurst_areRateLimited_andIgnored() {
    hub(Limits.builder().rate(10, 3).build());
    FakeConnection c = FakeConnection.connect(hub);

    for (int i = 0; i < 3; i++) {
      c.send(ping());
      assertThat(c.next().type()).isEqualTo("pong");
    }
    c.send(subscribe("ignored"));

    Envelope error = c.next();
    assertThat(code(error)).isEqualTo("rate_limited");
    assertThat(error.topic()).isEqualTo("system");
    assertThat(hub.topic("ignored")).isEmpty();
    assertThat(c.session().isClosed()).isFalse();
  }

  @Test
  void rateLimitedConnection_worksAgainOnceTokensRefill() {
    hub(Limits.builder().rate(10, 3).build());
    FakeConnection c = FakeConnection.connect(hub);
    for (int i = 0; i < 5; i++) {
      c.send(ping());
    }
    assertThat(c.takeAll())
        .extracting(Envelope::type)
        .containsExactly("pong", "pong", "pong", "error", "error");

    time.advance(Duration.ofMillis(100)); // one token at 10/s
    assertStillWorks(c);
    c.send(ping());
    assertThat(code(c.next())).isEqualTo("rate_limited");

    time.advance(Duration.ofSeconds(10)); // refills to the burst, no further
    for (int i = 0; i < 3; i++) {
      c.send(ping());
      assertThat(c.next().type()).isEqualTo("pong");
    }
    c.send(ping());
    assertThat(code(c.next())).isEqualTo("rate_limited");
  }

  @Test
  void burstMoreViolationsInARow_closeTheConnectionWithRateLimited() {
    int burst = 3;
    hub(Limits.builder().rate(10, burst).build());
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("a"));
    c.send(ping());
    c.send(ping());
    assertThat(c.takeAll()).hasSize(3);

    for (int i = 0; i < burst; i++) {
      c.send(ping());
      assertThat(code(c.next())).isEqualTo("rate_limited");
      assertThat(c.session().isClosed()).isFalse();
    }
    c.send(ping());

    CloseReason reason = c.awaitClose();
    assertThat(reason.code()).isEqualTo(CloseReason.RATE_LIMITED);
    assertThat(c.session().isClosed()).isTrue();
    c.assertExhausted();
    assertThat(hub.stats().connections()).isZero();
    // "a" existed only for this client's subscription: it left with the client.
    assertThat(hub.topic("a")).isEmpty();
    c.send(ping()); // ignored after close, no reply, no exception
    c.assertExhausted();
  }

  @Test
  void defaultRate_allowsABurstOf100_thenRateLimits() {
    hub(Limits.defaults());
    FakeConnection c = FakeConnection.connect(hub);

    for (int i = 0; i < 100; i++) {
      c.send(ping());
    }
    assertThat(c.takeAll()).hasSize(100).allMatch(e -> e.type().equals("pong"));
    c.send(ping());
    assertThat(code(c.next())).isEqualTo("rate_limited");
    time.advance(Duration.ofMillis(20)); // 50/s: one token
    c.send(ping());
    assertThat(c.next().type()).isEqualTo("pong");
  }

  @Test
  void rateLimitAtItsMaximum_neverLimits_evenAfterAnIdlePause() {
    // rate(Integer.MAX_VALUE, ...) is how a server turns the limit off.
    hub(Limits.builder().rate(Integer.MAX_VALUE, 10).build());
    FakeConnection c = FakeConnection.connect(hub);
    c.send(ping());
    assertThat(c.next().type()).isEqualTo("pong");

    for (int seconds : new int[] {5, 60, 3_600}) {
      time.advance(Duration.ofSeconds(seconds));
      c.send(ping());
      assertThat(c.next().type()).as("after %d s idle", seconds).isEqualTo("pong");
    }
  }
}
