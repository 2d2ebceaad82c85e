package io.watchcast.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.testing.RequiresProgram;
import io.watchcast.websocket.WebSocketTransport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two hubs sharing topics through a real redis-server, each served by its own WebSocket transport,
 * with real WebSocket clients (the JDK's).
 */
@RequiresProgram(
    value = "redis-server",
    paths = {"/usr/bin/redis-server", "/usr/local/bin/redis-server"},
    env = "REDIS_SERVER",
    install = "apt-get install redis-server")
final class WebSocketClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private RedisServer redis;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void startRedis() throws Exception {
    redis = RedisServer.start(dir);
  }

  @AfterEach
  void stopAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    if (redis != null) { // null when redis-server is missing and the test was skipped
      redis.close();
    }
  }

  private ConnectionManager hub() {
    RedisClusterBus bus =
        RedisClusterBus.builder(redis.uri())
            .maxReconnectDelay(Duration.ofMillis(200))
            .timeout(Duration.ofSeconds(2))
            .build();
    ConnectionManager hub = ConnectionManager.builder().clusterBus(bus).build();
    open.add(hub);
    io.watchcast.testing.Await.await(bus::isConnected, "bus connected");
    return hub;
  }

  private WebSocketTransport serve(ConnectionManager hub) throws Exception {
    WebSocketTransport ws = WebSocketTransport.builder(hub).build();
    ws.start();
    open.add(ws);
    return ws;
  }

  @Test
  void publishOnA_reachesAWebSocketClientOnB_inTheSameOrderAsAClientOnA() throws Exception {
    ConnectionManager a = hub();
    ConnectionManager b = hub();
    Client onA = Client.connect(serve(a).port(), "?topic=t");
    Client onB = Client.connect(serve(b).port(), "?topic=t");
    assertThat(onA.next().type()).isEqualTo("subscribed");
    assertThat(onB.next().type()).isEqualTo("subscribed");

    int each = 300;
    CountDownLatch start = new CountDownLatch(1);
    Thread pa = publisher(a, "a", each, start);
    Thread pb = publisher(b, "b", each, start);
    start.countDown();
    pa.join(WAIT.toMillis());
    pb.join(WAIT.toMillis());

    List<String> seenOnA = onA.updates(2 * each);
    List<String> seenOnB = onB.updates(2 * each);
    assertThat(seenOnB).containsExactlyElementsOf(seenOnA); // one order, ids and data, for all
    assertThat(seenOnA).hasSize(2 * each);
    for (int i = 0; i < seenOnA.size(); i++) {
      assertThat(seenOnA.get(i)).startsWith((i + 1) + ":");
    }
  }

  @Test
  void nodeAsTransportGoesAway_itsClientResumesOnB_withEveryMessageExactlyOnce() throws Exception {
    ConnectionManager a = hub();
    ConnectionManager b = hub();
    WebSocketTransport wsA = serve(a);
    WebSocketTransport wsB = serve(b);
    Client client = Client.connect(wsA.port(), "?topic=t");
    assertThat(client.next().type()).isEqualTo("subscribed");

    int total = 1_000;
    CountDownLatch start = new CountDownLatch(1);
    Thread publisher = publisher(b, "m", total, start);
    start.countDown();

    List<Long> ids = new ArrayList<>();
    String epoch = null;
    while (ids.size() < 200) {
      Envelope e = client.next();
      if ("update".equals(e.type())) {
        ids.add(e.id());
        epoch = e.epoch();
      }
    }
    wsA.close(); // node A's transport dies mid-stream
    client.awaitClosed();
    // Drain whatever arrived before the close, then come back on B from the last id held.
    for (Envelope e : client.rest()) {
      if ("update".equals(e.type())) {
        ids.add(e.id());
      }
    }
    long since = ids.get(ids.size() - 1);
    Client moved = Client.connect(wsB.port(), "?topic=t&since=" + since + "&epoch=" + epoch);
    assertThat(moved.next().type()).isEqualTo("subscribed");
    publisher.join(WAIT.toMillis());
    while (ids.size() < total) {
      Envelope e = moved.next();
      assertThat(e.type()).as("no reset: the history is shared").isEqualTo("update");
      ids.add(e.id());
    }
    List<Long> expected = new ArrayList<>();
    for (long i = 1; i <= total; i++) {
      expected.add(i);
    }
    assertThat(ids).containsExactlyElementsOf(expected); // exactly once, in order
    moved.assertQuiet();
  }

  private static Thread publisher(ConnectionManager hub, String tag, int n, CountDownLatch start) {
    Thread t =
        new Thread(
            () -> {
              try {
                start.await();
              } catch (InterruptedException e) {
                return;
              }
              for (int i = 0; i < n; i++) {
                if (!hub.publish("t", tag + i)) {
                  throw new AssertionError("publish " + tag + i + " refused");
                }
              }
            },
            "publisher-" + tag);
    t.start();
    return t;
  }

  /** A JDK WebSocket client that records whole text messages. */
  private static final class Client implements WebSocket.Listener {
    private final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final StringBuilder partial = new StringBuilder();

    static Client connect(int port, String query) throws Exception {
      Client c = new Client();
      HttpClient.newHttpClient()
          .newWebSocketBuilder()
          .buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws" + query), c)
          .get(10, TimeUnit.SECONDS);
      return c;
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        messages.add(partial.toString());
        partial.setLength(0);
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
      closed.countDown();
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      closed.countDown();
    }

    Envelope next() throws InterruptedException {
      String m = messages.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (m == null) {
        throw new AssertionError("no message within " + WAIT);
      }
      return Envelope.parse(m);
    }

    /** "id:data" of the next {@code n} updates. */
    List<String> updates(int n) throws InterruptedException {
      List<String> out = new ArrayList<>();
      while (out.size() < n) {
        Envelope e = next();
        if ("update".equals(e.type())) {
          out.add(e.id() + ":" + e.data().asText());
        }
      }
      return out;
    }

    void awaitClosed() throws InterruptedException {
      assertThat(closed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    }

    List<Envelope> rest() {
      List<String> out = new ArrayList<>();
      messages.drainTo(out);
      List<Envelope> envelopes = new ArrayList<>();
      for (String m : out) {
        envelopes.add(Envelope.parse(m));
      }
      return envelopes;
    }

    void assertQuiet() throws InterruptedException {
      String m = messages.poll(200, TimeUnit.MILLISECONDS);
      assertThat(m).as("nothing after the last message").isNull();
    }
  }
}
