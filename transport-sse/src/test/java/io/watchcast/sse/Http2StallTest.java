package io.watchcast.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.watchcast.ConnectionManager;
import io.watchcast.Envelope;
import io.watchcast.Limits;
import io.watchcast.RawJson;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;

/** Two SSE streams on one HTTP/2 connection: one stops reading, the other must not notice. */
final class Http2StallTest {

  @Test
  void h2c_stalledStream_isResetAfterWriteTimeout_whileTheOtherStreamOnTheConnectionFlows()
      throws Exception {
    ConnectionManager hub =
        ConnectionManager.builder()
            .limits(Limits.builder().maxQueuedBytes(64L << 20).build())
            .build();
    HTTP2Client client = new HTTP2Client();
    client.setInitialStreamRecvWindow(64 * 1024);
    client.setInitialSessionRecvWindow(8 * 1024 * 1024);
    client.start();
    try (Harness h = new Harness(hub, b -> b.writeTimeout(Duration.ofSeconds(2)))) {
      Session session =
          client
              .connect(
                  new InetSocketAddress("127.0.0.1", h.transport.port()), new Session.Listener() {})
              .get(10, TimeUnit.SECONDS);
      BlockingQueue<String> flowing = new LinkedBlockingQueue<>();
      CompletableFuture<Void> stalledReset = new CompletableFuture<>();
      StringBuilder partial = new StringBuilder();
      // The flowing stream reads everything and releases it (so its window is replenished).
      session
          .newStream(
              request(h),
              new Stream.Listener() {
                @Override
                public void onHeaders(Stream stream, HeadersFrame frame) {
                  stream.demand();
                }

                @Override
                public void onDataAvailable(Stream stream) {
                  while (true) {
                    Stream.Data data = stream.readData();
                    if (data == null) {
                      stream.demand();
                      return;
                    }
                    partial.append(StandardCharsets.UTF_8.decode(data.frame().getByteBuffer()));
                    boolean last = data.frame().isEndStream();
                    data.release();
                    if (last) {
                      return; // the stream ended: no more data, no more demand
                    }
                    int end;
                    while ((end = partial.indexOf("\n\n")) >= 0) {
                      String event = partial.substring(0, end);
                      partial.delete(0, end + 2);
                      for (String line : event.split("\n")) {
                        if (line.startsWith("data: ")) {
                          flowing.add(line.substring(6));
                        }
                      }
                    }
                  }
                }
              })
          .get(10, TimeUnit.SECONDS);
      // The stalled stream reads the headers and then never demands data again.
      session
          .newStream(
              request(h),
              new Stream.Listener() {
                @Override
                public void onHeaders(Stream stream, HeadersFrame frame) {
                  // no demand: the stream's data is never read, its flow-control window fills
                }

                @Override
                public void onDataAvailable(Stream stream) {
                  // never read
                }

                @Override
                public void onReset(Stream stream, ResetFrame frame, Callback callback) {
                  stalledReset.complete(null);
                  callback.succeeded();
                }

                @Override
                public void onFailure(
                    Stream stream, int error, String reason, Throwable failure, Callback callback) {
                  stalledReset.complete(null);
                  callback.succeeded();
                }
              })
          .get(10, TimeUnit.SECONDS);
      Harness.await("two streams", () -> h.transport.streamCount() == 2);
      assertThat(Envelope.parse(flowing.poll(10, TimeUnit.SECONDS)).type()).isEqualTo("subscribed");

      String payload = "\"" + "y".repeat(4000) + "\"";
      int count = 100; // 400 KB: far past the stalled stream's 64 KB window
      for (int i = 0; i < count; i++) {
        hub.publish("t", RawJson.of(payload));
      }
      for (int i = 1; i <= count; i++) {
        String data = flowing.poll(10, TimeUnit.SECONDS);
        assertThat(data).as("message %d on the flowing stream", i).isNotNull();
        assertThat(Envelope.parse(data).id()).isEqualTo(i);
      }
      stalledReset.get(20, TimeUnit.SECONDS);
      Harness.await("the stalled stream to be gone", () -> h.transport.streamCount() == 1);
      assertThat(hub.stats().slowConsumersClosed()).isZero();
      hub.publish("t", RawJson.of("1"));
      assertThat(Envelope.parse(flowing.poll(10, TimeUnit.SECONDS)).id()).isEqualTo(count + 1);
    } finally {
      client.stop();
    }
  }

  private static HeadersFrame request(Harness h) {
    MetaData.Request request =
        new MetaData.Request(
            "GET",
            HttpURI.from("http://127.0.0.1:" + h.transport.port() + "/events?topic=t"),
            HttpVersion.HTTP_2,
            HttpFields.build().add("accept", "text/event-stream"));
    return new HeadersFrame(request, null, true);
  }
}
