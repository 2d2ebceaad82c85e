package io.watchcast.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

final class CuttingProxyTest {

  @Test
  void forward_everyByteBothWays_andAnOrderlyEndIsPassedOn() throws Exception {
    byte[] sent = new byte[3 * 1024 * 1024 + 7];
    new Random(14).nextBytes(sent);
    try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        CuttingProxy proxy = CuttingProxy.start(target.getLocalPort())) {
      CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> echoOne(target));
      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
        client.setSoTimeout(20_000);
        CompletableFuture<Void> writer =
            CompletableFuture.runAsync(
                () -> {
                  try {
                    client.getOutputStream().write(sent);
                    client.shutdownOutput();
                  } catch (IOException e) {
                    throw new AssertionError(e);
                  }
                });
        byte[] received = client.getInputStream().readAllBytes(); // to the end the echo passed on
        writer.get(20, TimeUnit.SECONDS);
        assertThat(received).isEqualTo(sent);
      }
      echo.get(20, TimeUnit.SECONDS);
      assertThat(proxy.cuts()).isZero();
      assertThat(proxy.accepted()).isEqualTo(1);
    }
  }

  @Test
  void cutRandom_resetsBothSides_andCountsTheCut() throws Exception {
    try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        CuttingProxy proxy = CuttingProxy.start(target.getLocalPort());
        Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
      client.setSoTimeout(20_000);
      target.setSoTimeout(20_000);
      try (Socket server = target.accept()) {
        server.setSoTimeout(20_000);
        client.getOutputStream().write(1);
        assertThat(server.getInputStream().read()).isEqualTo(1);
        server.getOutputStream().write(2);
        assertThat(client.getInputStream().read()).isEqualTo(2);
        assertThat(proxy.links()).hasSize(1);
        assertThat(proxy.links().get(0).bytesToClient()).isEqualTo(1);

        assertThat(proxy.cutRandom()).isTrue();

        assertReset(client.getInputStream());
        assertReset(server.getInputStream());
        assertThat(proxy.cuts()).isEqualTo(1);
        assertThat(proxy.links()).isEmpty();
        assertThat(proxy.cutRandom()).as("nothing left to cut").isFalse();
      }
    }
  }

  @Test
  void targetDown_resetsTheClient() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    try (CuttingProxy proxy = CuttingProxy.start(closedPort);
        Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
      client.setSoTimeout(20_000);
      assertReset(client.getInputStream());
      assertThat(proxy.cuts()).as("not a cut of ours").isZero();
    }
  }

  private static void assertReset(InputStream in) {
    assertThatThrownBy(in::read).isInstanceOf(SocketException.class).hasMessageContaining("reset");
  }

  private static void echoOne(ServerSocket target) {
    try (Socket s = target.accept()) {
      s.getInputStream().transferTo(s.getOutputStream());
      s.shutdownOutput();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
