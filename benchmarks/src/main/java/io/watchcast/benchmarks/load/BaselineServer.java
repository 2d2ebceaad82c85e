package io.watchcast.benchmarks.load;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.java_websocket.WebSocket;
import org.java_websocket.handshake.ClientHandshake;
import org.java_websocket.server.WebSocketServer;

/**
 * The baseline: a plain Java-WebSocket 1.6.0 server whose publish loops {@code conn.send(json)}
 * over its connections. Same TCP_NODELAY and accept backlog as the Watchcast transport, so that the
 * comparison is about the fan-out, not socket options.
 */
final class BaselineServer extends WebSocketServer {
  private final CompletableFuture<Void> started = new CompletableFuture<>();

  BaselineServer() {
    super(new InetSocketAddress("127.0.0.1", 0), Runtime.getRuntime().availableProcessors());
    setTcpNoDelay(true);
    setReuseAddr(true);
    setDaemon(true);
    setMaxPendingConnections(1024);
  }

  void startAndWait() throws Exception {
    start();
    started.get(30, TimeUnit.SECONDS);
  }

  /** The naive fan-out: one send per subscriber, each building and queueing its own frame. */
  void publish(String json) {
    Collection<WebSocket> all = getConnections();
    for (WebSocket c : all) {
      if (c.isOpen()) {
        c.send(json);
      }
    }
  }

  @Override
  public void onOpen(WebSocket conn, ClientHandshake handshake) {}

  @Override
  public void onClose(WebSocket conn, int code, String reason, boolean remote) {}

  @Override
  public void onMessage(WebSocket conn, String message) {}

  @Override
  public void onMessage(WebSocket conn, ByteBuffer message) {}

  @Override
  public void onError(WebSocket conn, Exception ex) {
    if (conn == null) {
      started.completeExceptionally(ex);
    }
  }

  @Override
  public void onStart() {
    started.complete(null);
  }
}
