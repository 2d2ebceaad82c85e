package io.watchcast.websocket;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.List;
import org.java_websocket.WebSocketImpl;
import org.java_websocket.drafts.Draft;
import org.java_websocket.drafts.Draft_6455;
import org.java_websocket.enums.HandshakeState;
import org.java_websocket.enums.ReadyState;
import org.java_websocket.exceptions.InvalidDataException;
import org.java_websocket.exceptions.InvalidHandshakeException;
import org.java_websocket.framing.Framedata;
import org.java_websocket.handshake.ClientHandshake;
import org.java_websocket.handshake.HandshakeBuilder;
import org.java_websocket.handshake.Handshakedata;
import org.java_websocket.handshake.ServerHandshakeBuilder;

/**
 * RFC 6455 with no extension (so never permessage-deflate), a maximum frame and message size, and
 * HTTP error responses for refused handshakes: Java-WebSocket 1.6.0 can only refuse with 404, so a
 * {@link Rejection} returned by the handshake hook is written here verbatim instead of the 101.
 * Incoming frames pass a {@link FrameGuard} first (masking, the size of fragmented messages, close
 * reasons), and once the connection is closing nothing the client sends is acted on.
 */
final class WatchcastDraft extends Draft_6455 {
  private final int maxFrameBytes;
  private final FrameGuard guard;

  WatchcastDraft(int maxFrameBytes) {
    super(Collections.emptyList(), maxFrameBytes);
    this.maxFrameBytes = maxFrameBytes;
    this.guard = new FrameGuard(maxFrameBytes);
  }

  @Override
  public Draft copyInstance() {
    return new WatchcastDraft(maxFrameBytes);
  }

  /** Another version than 13 reaches the handshake hook too, which answers it with 426. */
  @Override
  public HandshakeState acceptHandshakeAsServer(ClientHandshake request)
      throws InvalidHandshakeException {
    HandshakeState state = super.acceptHandshakeAsServer(request);
    if (state == HandshakeState.NOT_MATCHED && !UpgradeCheck.isVersion13(request)) {
      return HandshakeState.MATCHED;
    }
    return state;
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

  @Override
  public List<Framedata> translateFrame(ByteBuffer buffer) throws InvalidDataException {
    guard.check(buffer);
    return super.translateFrame(buffer);
  }

  /**
   * Frames decoded in the same read as the one that closed the connection are dropped: after the
   * server's close frame, a client's messages, pings and close frame are read and discarded.
   */
  @Override
  public void processFrame(WebSocketImpl ws, Framedata frame) throws InvalidDataException {
    if (ws.getReadyState() == ReadyState.OPEN) {
      super.processFrame(ws, frame);
    }
  }
}
