package io.watchcast.examples;

import io.watchcast.ConnectionManager;
import io.watchcast.websocket.WebSocketTransport;
import java.util.Arrays;
import java.util.List;

/**
 * A server that {@link ServerRestartTest} runs as a process of its own and kills: {@code
 * StreamServer <port> <topic>...} serves WebSocket on 127.0.0.1:port and publishes 1, 2, 3, ... on
 * every topic, one round every 5 ms, so each message's data is its id. The first round goes out
 * before the port is bound, so every topic has a snapshot for the first client. Prints {@code ready
 * <port>} once it accepts connections; history is in memory, so each run has new epochs.
 */
final class StreamServer {
  private StreamServer() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    List<String> topics = Arrays.asList(args).subList(1, args.length);
    ConnectionManager hub = ConnectionManager.builder().build();
    for (String t : topics) {
      hub.publish(t, 1);
    }
    WebSocketTransport ws = WebSocketTransport.builder(hub).port(port).build();
    ws.start();
    System.out.println("ready " + ws.port());
    System.out.flush();
    for (long n = 2; ; n++) {
      Thread.sleep(5); // the publishing rate; this process only ends by being killed
      for (String t : topics) {
        hub.publish(t, n);
      }
    }
  }
}
