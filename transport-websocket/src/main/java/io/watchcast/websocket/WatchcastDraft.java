package io.watchcast.websocket;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.List;
import org.java_websocket.drafts.Draft;
import org.java_websocket.drafts.Draft_6455;
import org.java_websocket.exceptions.InvalidHandshakeException;
import org.java_websocket.handshake.ClientHandshake;
import org.java_websocket.handshake.HandshakeBuilder;
import org.java_websocket.handshake.Handshakedata;
import org.java_websocket.handshake.ServerHandshakeBuilder;

/**
 * RFC 6455 with no extension (so never permessage-deflate), a maximum frame and message size, and
 * HTTP error responses for refused handshakes: Java-WebSocket 1.6.0 can only refuse with 404, so a
 * {@link Rejection} returned by the handshake hook is written here verbatim instead of the 101.
 */
final class WatchcastDraft extends Draft_6455 {
  private final int maxFrameBytes;

  WatchcastDraft(int maxFrameBytes) {
    super(Collections.emptyList(), maxFrameBytes);
    this.maxFrameBytes = maxFrameBytes;
  }

  @Override
  public Draft copyInstance() {
    return new WatchcastDraft(maxFrameBytes);
  }

  @Override
  public HandshakeBuilder postProcessHandshakeResponseAsServer(
      ClientHandshake request, ServerHandshakeBuilder response) throws InvalidHandshakeException {
    if (response instanceof Rejection) {
      return response;
    }
    HandshakeBuilder b = super.postProcessHandshakeResponseAsServer(request, response);
    b.put("Server", "watchcast");
    return b;
  }

  @Override
  public List<ByteBuffer> createHandshake(Handshakedata handshakedata, boolean withcontent) {
    if (handshakedata instanceof Rejection) {
      return Collections.singletonList(((Rejection) handshakedata).response());
    }
    return super.createHandshake(handshakedata, withcontent);
  }
}
