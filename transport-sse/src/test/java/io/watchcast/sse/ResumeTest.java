package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.RawJson;
import io.watchcast.TopicOptions;
import io.watchcast.testing.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

final class ResumeTest {

  @Test
  void lastEventId_acrossCutConnections_whilePublishing_deliversEveryMessageExactlyOnce()
      throws Exception {
    TopicOptions big = TopicOptions.defaults().withHistory(100_000, Duration.ofMinutes(5));
    ConnectionManager hub = ConnectionManager.builder().topic("a", big).topic("b", big).build();
    try (Harness h = new Harness(hub, b -> {})) {
      Map<String, List<Long>> received = new HashMap<>();
      received.put("a", new ArrayList<>());
      received.put("b", new ArrayList<>());
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger published = new AtomicInteger();
      Thread publisher =
          new Thread(
              () -> {
                while (!stop.get() && published.get() < 40_000) {
                  hub.publish("a", Map.of("n", published.get()));
                  hub.publish("b", Map.of("n", published.get()));
                  published.incrementAndGet();
                  LockSupport.parkNanos(200_000);
                }
              },
              "publisher");
      String lastId = null;
      int resets = 0;
      try {
        for (int round = 0; round < 6; round++) {
          SseClient c =
              lastId == null
                  ? h.stream("/events?topic=a&topic=b")
                  : h.stream("/events?topic=a&topic=b", "Last-Event-ID", lastId);
          assertThat(c.awaitResponse().statusCode()).isEqualTo(200);
          if (round == 0) {
            c.nextOfType("subscribed");
            c.nextOfType("subscribed");
            publisher.start();
          }
          int updates = 0;
          while (updates < 150) {
            SseClient.Event e = c.next();
            lastId = e.lastEventId();
            if (e.event().equals("reset")) {
              resets++;
            }
            if (e.event().equals("update")) {
              Envelope env = Envelope.parse(e.data());
              received.get(env.topic()).add(env.id());
              updates++;
            }
          }
          // Cut, keeping the lastEventId of the last event handled; events after it are dropped,
          // as a cut connection would lose them.
          c.close();
        }
        stop.set(true);
        publisher.join(10_000);
        long lastA = hub.topic("a").orElseThrow().id();
        long lastB = hub.topic("b").orElseThrow().id();
        try (SseClient c = h.stream("/events?topic=a&topic=b", "Last-Event-ID", lastId)) {
          while (tail(received.get("a")) < lastA || tail(received.get("b")) < lastB) {
            SseClient.Event e = c.next();
            if (e.event().equals("update")) {
              Envelope env = Envelope.parse(e.data());
              received.get(env.topic()).add(env.id());
            }
          }
        }
        assertThat(resets).isZero();
        assertThat(lastA).isGreaterThan(150);
        for (String topic : List.of("a", "b")) {
          List<Long> ids = received.get(topic);
          long last = topic.equals("a") ? lastA : lastB;
          assertThat(ids).as(topic).hasSize((int) last);
          for (int i = 0; i < ids.size(); i++) {
            assertThat(ids.get(i)).as(topic + " message " + i).isEqualTo(i + 1L);
          }
        }
      } finally {
        stop.set(true);
      }
    }
  }

  private static long tail(List<Long> ids) {
    return ids.isEmpty() ? 0 : ids.get(ids.size() - 1);
  }

  @Test
  void lastEventIdQueryParameter_resumesWithExactlyTheMissedMessages() throws Exception {
    try (Harness h = Harness.start()) {
      String id;
      try (SseClient c = h.stream("/events?topic=t")) {
        c.nextOfType("subscribed");
        for (int i = 1; i <= 3; i++) {
          h.hub.publish("t", i);
        }
        c.nextOfType("update");
        c.nextOfType("update");
        c.nextOfType("update");
        id = c.lastEventId();
      }
      h.hub.publish("t", 4);
      h.hub.publish("t", 5);
      try (SseClient c = h.stream("/events?topic=t&lastEventId=" + id)) {
        assertThat(c.nextOfType("subscribed")).isNotNull();
        SseClient.Event four = c.next();
        assertThat(four.event()).isEqualTo("update");
        assertThat(Envelope.parse(four.data()).id()).isEqualTo(4);
        assertThat(Envelope.parse(c.next().data()).id()).isEqualTo(5);
        c.assertNoEvent(Duration.ofMillis(200));
      }
    }
  }

  @Test
  void lastEventIdHeader_winsOverQueryParameter() throws Exception {
    try (Harness h = Harness.start()) {
      for (int i = 1; i <= 5; i++) {
        h.hub.publish("t", i);
      }
      String epoch = h.hub.topic("t").orElseThrow().epoch();
      try (SseClient c =
          h.stream(
              "/events?topic=t&lastEventId=t~" + epoch + "~1",
              "Last-Event-ID",
              "t~" + epoch + "~4")) {
        c.nextOfType("subscribed");
        assertThat(Envelope.parse(c.next().data()).id()).isEqualTo(5);
      }
    }
  }

  @Test
  void lastEventId_unknownEpoch_getsResetThenSnapshot() throws Exception {
    try (Harness h = Harness.start()) {
      h.hub.publish("t", "v1");
      h.hub.publish("t", "v2");
      try (SseClient c = h.stream("/events?topic=t", "Last-Event-ID", "t~zzzzzz~7")) {
        c.nextOfType("subscribed");
        SseClient.Event reset = c.next();
        assertThat(reset.event()).isEqualTo("reset");
        assertThat(Envelope.parse(reset.data()).data().get("reason").asText())
            .isEqualTo("epoch_changed");
        SseClient.Event snap = c.next();
        assertThat(snap.event()).isEqualTo("snapshot");
        assertThat(Envelope.parse(snap.data()).data().asText()).isEqualTo("v2");
        String epoch = h.hub.topic("t").orElseThrow().epoch();
        assertThat(c.lastEventId()).isEqualTo("t~" + epoch + "~2");
      }
    }
  }

  @Test
  void lastEventId_entriesForOtherTopics_areIgnored() throws Exception {
    try (Harness h = Harness.start()) {
      h.hub.publish("t", 1);
      String epoch = h.hub.topic("t").orElseThrow().epoch();
      try (SseClient c =
          h.stream("/events?topic=t", "Last-Event-ID", "other~abc~3,t~" + epoch + "~1")) {
        c.nextOfType("subscribed");
        h.hub.publish("t", 2);
        SseClient.Event e = c.next();
        assertThat(Envelope.parse(e.data()).id()).isEqualTo(2);
        assertThat(e.id()).isEqualTo("t~" + epoch + "~2");
      }
    }
  }

  @Test
  void lastEventId_replayLargerThanTheOutboxLimit_resumesWithoutLoss() throws Exception {
    // Heartbeats, so that the server finds the first stream's cut before the history is published.
    try (Harness h = Harness.withOutbox(16 * 1024, b -> b.heartbeat(Duration.ofMillis(50)))) {
      ConnectionManager hub = h.hub;
      hub.publish("t", 0);
      String id;
      try (SseClient c = h.stream("/events?topic=t")) {
        c.nextOfType("snapshot");
        id = c.lastEventId();
      }
      Await.await(() -> h.transport.streamCount() == 0, "the first stream to end");
      int missed = 300; // 300 KB of history: almost 20 times the outbox limit
      for (int i = 0; i < missed; i++) {
        hub.publish("t", RawJson.of("\"" + "x".repeat(1000) + "\""));
      }
      try (SseClient c = h.stream("/events?topic=t", "Last-Event-ID", id)) {
        c.nextOfType("subscribed");
        for (long i = 2; i <= missed + 1; i++) {
          SseClient.Event e = c.next();
          assertThat(e.event()).as("event %d", i).isEqualTo("update");
          assertThat(Envelope.parse(e.data()).id()).isEqualTo(i);
        }
        hub.publish("t", 1);
        assertThat(Envelope.parse(c.next().data()).id()).isEqualTo(missed + 2L);
      }
      assertThat(hub.stats().slowConsumersClosed()).isZero();
    }
  }
}
