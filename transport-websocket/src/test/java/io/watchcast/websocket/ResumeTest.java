package io.watchcast.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** A client cut every 50 messages during a 5,000-message stream ends with each message once. */
final class ResumeTest {
  private static final int MESSAGES = 5000;
  private static final int CUT_EVERY = 50;

  @Test
  void resume_withCutsEvery50Messages_deliversEveryMessageExactlyOnceInOrder() throws Exception {
    try (ConnectionManager hub = ConnectionManager.builder().build();
        WebSocketTransport transport = WebSocketTransport.builder(hub).build()) {
      transport.start();
      hub.declareTopic("seq", io.watchcast.TopicOptions.defaults());
      AtomicLong received = new AtomicLong();
      Thread publisher =
          new Thread(
              () -> {
                for (int i = 1; i <= MESSAGES; i++) {
                  // Stay within the topic's history (1,000 messages) of the client.
                  while (i - received.get() > 300) {
                    LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
                  }
                  hub.publish("seq", i);
                }
              },
              "publisher");

      long lastId = 0;
      String epoch = null;
      int connections = 0;
      while (lastId < MESSAGES) {
        String query = "?topic=seq" + (epoch == null ? "" : "&since=" + lastId + "&epoch=" + epoch);
        try (TestClient c = TestClient.connect(transport.uri() + query)) {
          connections++;
          Envelope subscribed = c.next("subscribed");
          epoch = subscribed.data().get("epoch").asText();
          if (connections == 1) {
            publisher.start();
          }
          int inThisConnection = 0;
          while (inThisConnection < CUT_EVERY && lastId < MESSAGES) {
            Envelope e = c.next();
            assertThat(e.type()).as("no reset, no snapshot: %s", e).isEqualTo("update");
            assertThat(e.epoch()).isEqualTo(epoch);
            assertThat(e.id()).as("exactly once, in order").isEqualTo(lastId + 1);
            assertThat(e.data().asLong()).isEqualTo(e.id());
            lastId = e.id();
            received.set(lastId);
            inThisConnection++;
          }
          c.abort(); // cut: messages in flight on this connection are lost with it
        }
      }
      publisher.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(lastId).isEqualTo(MESSAGES);
      assertThat(connections).isEqualTo(MESSAGES / CUT_EVERY);
    }
  }
}
