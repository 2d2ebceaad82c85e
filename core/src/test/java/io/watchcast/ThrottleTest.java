package io.watchcast;

import static io.watchcast.ClientMessages.subscribe;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.watchcast.testing.FakeConnection;
import io.watchcast.testing.FakeConnection.Arrival;
import io.watchcast.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Throttles on a fake clock: {@code latest} conflation and {@code batch} lists. */
final class ThrottleTest {
  private static final Duration WINDOW = Duration.ofMillis(100);
  private static final long WINDOW_NANOS = WINDOW.toNanos();

  private final ManualScheduler time = new ManualScheduler();
  private ConnectionManager hub;

  private ConnectionManager hub(Throttle throttle) {
    hub =
        ConnectionManager.builder()
            .clock(time)
            .scheduler(time)
            .topic("t", TopicOptions.of(throttle))
            .build();
    return hub;
  }

  @AfterEach
  void closeHub() {
    if (hub != null) {
      hub.close();
    }
  }

  private FakeConnection subscriber() {
    FakeConnection c = FakeConnection.connect(hub).clock(time);
    c.send(subscribe("t"));
    assertThat(c.next().type()).isEqualTo("subscribed");
    return c;
  }

  private static List<Arrival> updates(FakeConnection c) {
    List<Arrival> out = new ArrayList<>();
    for (Arrival a : c.arrivals()) {
      if (a.message().id() > 0) {
        out.add(a);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Throttle values

  @Test
  void throttle_rejectsWindowsAndBatchSizesThatCannotWork() {
    assertThatThrownBy(() -> Throttle.latest(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("positive window");
    assertThatThrownBy(() -> Throttle.latest(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Throttle.batch(Duration.ZERO, 10))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Throttle.batch(WINDOW, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxBatch");
    assertThat(Throttle.none().mode()).isEqualTo(Throttle.Mode.NONE);
  }

  // ---------------------------------------------------------------------------------------------
  // latest

  @Test
  void latest_firstPublishAfterQuiet_goesOutAtOnce() {
    hub(Throttle.latest(WINDOW));
    FakeConnection c = subscriber();
    long publishedAt = time.nanos();

    hub.publish("t", 1);

    assertThat(c.next().data().asInt()).isEqualTo(1);
    assertThat(updates(c).get(0).nanos()).isEqualTo(publishedAt);
    assertThat(time.pending()).isZero(); // nothing waits for the window
  }

  @Test
  void latest_withinAWindow_onlyTheNewestIsDelivered_atTheEndOfTheWindow() {
    hub(Throttle.latest(WINDOW));
    FakeConnection c = subscriber();
    long start = time.nanos();
    hub.publish("t", 0);
    assertThat(c.next().data().asInt()).isZero();

    for (int v = 1; v <= 5; v++) {
      time.advance(Duration.ofMillis(10));
      hub.publish("t", v);
    }
    time.advance(WINDOW.minusMillis(50).minusNanos(1));
    c.assertExhausted(); // one nanosecond before the end of the window
    time.advance(Duration.ofNanos(1));

    Envelope newest = c.next();
    assertThat(newest.data().asInt()).isEqualTo(5);
    assertThat(newest.id()).isEqualTo(2); // ids count emitted messages: no gap in the stream
    assertThat(updates(c).get(1).nanos()).isEqualTo(start + WINDOW_NANOS);
    c.assertExhausted();
    assertThat(hub.stats().conflated()).isEqualTo(4);
    assertThat(hub.stats().emitted()).isEqualTo(2);
    assertThat(hub.stats().published()).isEqualTo(6);
  }

  @Test
  void latest_theEnvelopeCarriesTheNewestValuesOwnTimestamp() {
    hub(Throttle.latest(WINDOW));
    FakeConnection c = subscriber();
    hub.publish("t", 0);
    c.next();
    time.advance(Duration.ofMillis(30));
    long newestPublishedAt = time.millis();
    hub.publish("t", 1);

    time.advance(WINDOW);

    Envelope e = c.next();
    assertThat(e.data().asInt()).isEqualTo(1);
    assertThat(e.timestamp()).isEqualTo(newestPublishedAt);
  }

  @Test
  void latest_publishAtTheExactEndOfAQuietWindow_goesOutAtOnce() {
    hub(Throttle.latest(WINDOW));
    FakeConnection c = subscriber();
    hub.publish("t", 0);
    time.advance(WINDOW);

    hub.publish("t", 1);

    assertThat(c.takeAll()).extracting(e -> e.data().asInt()).containsExactly(0, 1);
  }

  @Test
  void latest_afterTheFlushedWindow_aNewWindowLimitsTheNextBurst() {
    hub(Throttle.latest(WINDOW));
    FakeConnection c = subscriber();
    hub.publish("t", 0); // t=0: out at once
    time.advance(Duration.ofMillis(50));
    hub.publish("t", 1); // pending until 100
    time.advance(Duration.ofMillis(50)); // t=100: "1" out; a new window runs to 200
    hub.publish("t", 2); // inside the new window: pending until 200
    time.advance(Duration.ofMillis(99));
    assertThat(c.takeAll()).extracting(e -> e.data().asInt()).containsExactly(0, 1);

    time.advance(Duration.ofMillis(1));

    assertThat(c.next().data().asInt()).isEqualTo(2);
  }

  @Test
  void latest_snapshotIsTheNewestEmittedValue() {
    hub(Throttle.latest(WINDOW));
    hub.publish("t", 0);
    hub.publish("t", 1); // pending
    assertThat(hub.snapshot("t").orElseThrow().jsonString()).contains("\"data\":0");

    time.advance(WINDOW);

    EncodedMessage snap = hub.snapshot("t").orElseThrow();
    assertThat(snap.type()).isEqualTo("snapshot");
    assertThat(Envelope.parse(snap.jsonString()).data().asInt()).isEqualTo(1);
    assertThat(snap.id()).isEqualTo(2);
  }

  /**
   * A random publish schedule on the fake clock, checked against the contract for every connection:
   * never two deliveries within one window, never an older value after a newer one, every value
   * superseded or delivered by the end of its window, and the first publish after a quiet window
   * delivered at once.
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 42, 2024})
  void latest_randomSchedule_keepsEveryPromiseOfConflation(long seed) {
    hub(Throttle.latest(WINDOW));
    List<FakeConnection> connections = List.of(subscriber(), subscriber(), subscriber());
    Random random = new Random(seed);
    List<long[]> published = new ArrayList<>(); // {value, nanos}
    int n = 2_000;
    for (int v = 0; v < n; v++) {
      // Mostly bursts, sometimes quiet gaps longer than a window.
      long gap =
          random.nextInt(10) == 0
              ? WINDOW_NANOS + random.nextInt(3 * (int) WINDOW_NANOS)
              : random.nextInt((int) (WINDOW_NANOS / 4));
      time.advance(Duration.ofNanos(gap));
      published.add(new long[] {v, time.nanos()});
      hub.publish("t", v);
    }
    time.advance(WINDOW.multipliedBy(2));

    List<Arrival> reference = updates(connections.get(0));
    for (FakeConnection c : connections) {
      List<Arrival> got = updates(c);
      assertThat(got).hasSize(reference.size());
      long lastValue = -1;
      long lastNanos = Long.MIN_VALUE / 2;
      for (int i = 0; i < got.size(); i++) {
        Arrival a = got.get(i);
        assertThat(a.message()).isSameAs(reference.get(i).message());
        assertThat(a.message().id()).isEqualTo(i + 1);
        long value = a.envelope().data().asLong();
        assertThat(value).as("values only move forward").isGreaterThan(lastValue);
        assertThat(a.nanos() - lastNanos)
            .as("one message per window")
            .isGreaterThanOrEqualTo(WINDOW_NANOS);
        lastValue = value;
        lastNanos = a.nanos();
      }
      assertThat(lastValue).as("the newest value always arrives").isEqualTo(n - 1);
    }

    // Every value is delivered, or superseded by a newer one that is delivered, within one window.
    // A publish with nothing pending and nothing delivered in the window before it goes out at
    // once.
    Map<Long, Long> deliveredAt = new java.util.HashMap<>();
    for (Arrival a : reference) {
      deliveredAt.put(a.envelope().data().asLong(), a.nanos());
    }
    int next = 0;
    int quietPublishes = 0;
    long lastDeliveryBefore = Long.MIN_VALUE / 2;
    for (long[] p : published) {
      long value = p[0];
      long at = p[1];
      while (reference.get(next).envelope().data().asLong() < value) {
        lastDeliveryBefore = reference.get(next).nanos();
        next++;
      }
      Arrival covering = reference.get(next);
      assertThat(covering.nanos() - at)
          .as("value %d delivered late", value)
          .isBetween(0L, WINDOW_NANOS);
      boolean nothingPending = value == 0 || deliveredAt.containsKey(value - 1);
      if (nothingPending && at - lastDeliveryBefore >= WINDOW_NANOS) {
        assertThat(deliveredAt.get(value))
            .as("value %d published after quiet", value)
            .isEqualTo(at);
        quietPublishes++;
      }
    }
    assertThat(quietPublishes).as("the schedule has quiet gaps").isGreaterThan(n / 20);
    HubStats stats = hub.stats();
    assertThat(stats.published()).isEqualTo(n);
    assertThat(stats.emitted()).isEqualTo(reference.size());
    assertThat(stats.conflated()).isEqualTo(n - reference.size());
  }

  @Test
  void latest_withTheHubsOwnScheduler_deliversTheNewestValueOfABurst() {
    hub =
        ConnectionManager.builder()
            .topic("t", TopicOptions.of(Throttle.latest(Duration.ofMillis(20))))
            .build();
    FakeConnection c = FakeConnection.connect(hub);
    c.send(subscribe("t"));
    c.next();

    for (int v = 0; v < 1_000; v++) {
      hub.publish("t", v);
    }

    int last = -1;
    while (last != 999) {
      int v = c.next(Duration.ofSeconds(10)).data().asInt();
      assertThat(v).isGreaterThan(last);
      last = v;
    }
    hub.close();
    hub.publish("t", 5); // after close: refused, no scheduler needed
  }

  // ---------------------------------------------------------------------------------------------
  // batch

  private static List<Integer> ints(JsonNode array) {
    assertThat(array.isArray()).as("batch data is a list: %s", array).isTrue();
    List<Integer> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asInt()));
    return out;
  }

  @Test
  void batch_firstPublishAfterQuiet_goesOutAtOnce_asAListOfOne() {
    hub(Throttle.batch(WINDOW, 100));
    FakeConnection c = subscriber();

    hub.publish("t", 7);

    Envelope e = c.next();
    assertThat(ints(e.data())).containsExactly(7);
    assertThat(e.type()).isEqualTo("update");
    assertThat(e.id()).isEqualTo(1);
  }

  @Test
  void batch_publishesWithinAWindow_areOneMessage_withTheOrderedList() {
    hub(Throttle.batch(WINDOW, 100));
    FakeConnection c = subscriber();
    hub.publish("t", 0);
    c.next();

    for (int v = 1; v <= 5; v++) {
      hub.publish("t", v);
    }
    time.advance(WINDOW.minusNanos(1));
    c.assertExhausted();
    time.advance(Duration.ofNanos(1));

    Envelope e = c.next();
    assertThat(ints(e.data())).containsExactly(1, 2, 3, 4, 5);
    assertThat(e.id()).isEqualTo(2);
    c.assertExhausted();
    assertThat(hub.stats().emitted()).isEqualTo(2);
    assertThat(hub.stats().published()).isEqualTo(6);
  }

  @Test
  void batch_itemsKeepTheirJson_objectsStringsAndRawJson() {
    hub(Throttle.batch(WINDOW, 100));
    FakeConnection c = subscriber();
    hub.publish("t", 0);
    c.next();

    hub.publish("t", Map.of("a", List.of(1, 2)));
    hub.publish("t", "with, commas ] and [ brackets");
    hub.publish("t", RawJson.of("{\"raw\":true}"));
    hub.publish("t", (Object) null);
    time.advance(WINDOW);

    JsonNode data = c.next().data();
    assertThat(data.size()).isEqualTo(4);
    assertThat(data.get(0).path("a").get(1).asInt()).isEqualTo(2);
    assertThat(data.get(1).asText()).isEqualTo("with, commas ] and [ brackets");
    assertThat(data.get(2).path("raw").asBoolean()).isTrue();
    assertThat(data.get(3).isNull()).isTrue();
  }

  @Test
  void batch_reachingMaxBatch_flushesAtOnce() {
    hub(Throttle.batch(Duration.ofSeconds(10), 3));
    FakeConnection c = subscriber();
    hub.publish("t", 0);
    assertThat(ints(c.next().data())).containsExactly(0);

    hub.publish("t", 1);
    hub.publish("t", 2);
    c.assertExhausted();
    hub.publish("t", 3); // the third item: no need to wait for the window

    assertThat(ints(c.next().data())).containsExactly(1, 2, 3);
    hub.publish("t", 4);
    c.assertExhausted();
    time.advance(Duration.ofSeconds(10));
    assertThat(ints(c.next().data())).containsExactly(4);
    c.assertExhausted();
  }

  @Test
  void batch_ofMixedTypes_isSplit_soThatEveryBatchHasOneType_inPublishOrder() {
    hub(Throttle.batch(WINDOW, 100));
    FakeConnection c = subscriber();
    hub.publish("t", "log", 0);
    hub.publish("t", "log", 1);
    hub.publish("t", "log", 2);
    hub.publish("t", "alert", 3); // flushes the pending "log" batch first
    hub.publish("t", "alert", 4);
    hub.publish("t", "log", 5);
    time.advance(WINDOW);

    List<Envelope> got = c.takeAll();
    assertThat(got).extracting(Envelope::type).containsExactly("log", "log", "alert", "log");
    assertThat(got)
        .extracting(e -> ints(e.data()))
        .containsExactly(List.of(0), List.of(1, 2), List.of(3, 4), List.of(5));
    assertThat(got).extracting(Envelope::id).containsExactly(1L, 2L, 3L, 4L);
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 7, 99})
  void batch_randomSchedule_preservesOrderAcrossWindows_andRespectsMaxBatch(long seed) {
    int maxBatch = 7;
    hub(Throttle.batch(WINDOW, maxBatch));
    List<FakeConnection> connections = List.of(subscriber(), subscriber());
    Random random = new Random(seed);
    int n = 3_000;
    for (int v = 0; v < n; v++) {
      long gap =
          random.nextInt(20) == 0
              ? WINDOW_NANOS + random.nextInt((int) WINDOW_NANOS)
              : random.nextInt((int) (WINDOW_NANOS / 10));
      time.advance(Duration.ofNanos(gap));
      hub.publish("t", v);
    }
    time.advance(WINDOW.multipliedBy(2));

    for (FakeConnection c : connections) {
      List<Integer> all = new ArrayList<>();
      long id = 0;
      for (Envelope e : c.takeAll()) {
        assertThat(e.id()).isEqualTo(++id);
        List<Integer> items = ints(e.data());
        assertThat(items).isNotEmpty().hasSizeLessThanOrEqualTo(maxBatch);
        all.addAll(items);
      }
      assertThat(all).hasSize(n);
      for (int i = 0; i < n; i++) {
        assertThat(all.get(i)).isEqualTo(i);
      }
    }
    assertThat(hub.stats().published()).isEqualTo(n);
    assertThat(hub.stats().conflated()).isZero();
  }
}
