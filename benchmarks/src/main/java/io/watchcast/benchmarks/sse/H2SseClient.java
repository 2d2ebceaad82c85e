package io.watchcast.benchmarks.sse;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * SSE streams over HTTP/2, many streams multiplexed on few connections: h2c (prior knowledge), or
 * h2 over TLS with ALPN, as a browser connects to an HTTPS server.
 */
final class H2SseClient implements AutoCloseable {
  private final Recorder recorder;
  private final SslContextFactory.Client tls;
  private final HTTP2Client client = new HTTP2Client();
  private final List<Session> sessions = new ArrayList<>();
  final AtomicInteger headersSeen = new AtomicInteger();

  H2SseClient(Recorder recorder) throws Exception {
    this(recorder, false);
  }

  /**
   * With {@code tls}, connects with TLS and ALPN, trusting any certificate (the benchmark's own).
   */
  H2SseClient(Recorder recorder, boolean tls) throws Exception {
    this.recorder = recorder;
    this.tls = tls ? new SslContextFactory.Client(true) : null;
    if (this.tls != null) {
      this.tls.start();
    }
    QueuedThreadPool pool = new QueuedThreadPool(8, 2);
    pool.setName("h2-client");
    client.setExecutor(pool);
    client.setSelectors(1);
    client.setMaxConcurrentPushedStreams(0);
    client.start();
  }

  /** Opens {@code streams} streams spread over {@code connections} connections. */
  void open(InetSocketAddress server, String path, int connections, int streams) throws Exception {
    for (int c = 0; c < connections; c++) {
      Session session =
          (tls == null
                  ? client.connect(server, new Session.Listener() {})
                  : client.connect(tls, server, new Session.Listener() {}))
              .get(10, TimeUnit.SECONDS);
      sessions.add(session);
      int perConnection = streams / connections + (c < streams % connections ? 1 : 0);
      for (int s = 0; s < perConnection; s++) {
        MetaData.Request request =
            new MetaData.Request(
                "GET",
                HttpURI.from(
                    (tls == null ? "http" : "https") + "://127.0.0.1:" + server.getPort() + path),
                HttpVersion.HTTP_2,
                HttpFields.build().add("accept", "text/event-stream"));
        Recorder.Scanner scanner = new Recorder.Scanner();
        session
            .newStream(
                new HeadersFrame(request, null, false),
                new Stream.Listener() {
                  @Override
                  public void onHeaders(Stream stream, HeadersFrame frame) {
                    headersSeen.incrementAndGet();
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
                      var bb = data.frame().getByteBuffer();
                      scanner.scan(recorder, bb, bb.position(), bb.limit(), System.nanoTime());
                      data.release();
                      if (data.frame().isEndStream()) {
                        return;
                      }
                    }
                  }
                })
            .get(10, TimeUnit.SECONDS);
      }
    }
  }

  @Override
  public void close() throws Exception {
    for (Session s : sessions) {
      s.close(0, "bye", org.eclipse.jetty.util.Callback.NOOP);
    }
    client.stop();
    if (tls != null) {
      tls.stop();
    }
  }
}
