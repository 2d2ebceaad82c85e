package io.watchcast.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watchcast.ClusterBus;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * What the bus does without a Redis: reading its URI and settings, parsing notifications. These run
 * where redis-server is missing; {@link ClusterTest} needs one.
 */
final class RedisClusterBusTest {

  @Test
  void builder_rejectsWhatIsNotARedisUri() {
    assertThatThrownBy(() -> RedisClusterBus.builder("http://localhost:6379"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("redis://");
    assertThatThrownBy(() -> RedisClusterBus.builder("redis://"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RedisClusterBus.builder("redis://h/not-a-database"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not-a-database");
    assertThatThrownBy(() -> RedisClusterBus.builder("redis://h").keyPrefix("{x}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RedisClusterBus.builder("redis://h").poolSize(0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void builder_uriWithoutAPort_usesRedisDefaultPort() {
    try (RedisClusterBus bus = RedisClusterBus.create("redis://redis.internal")) {
      assertThat(bus).hasToString("RedisClusterBus{redis.internal:6379, prefix=watchcast:}");
    }
  }

  @Test
  void build_withCredentialsDatabaseAndTls_connectsNothingYet() {
    // Building and closing never touch the network: a bus can be built while Redis is down.
    RedisClusterBus.create("rediss://user:secret@redis.invalid:6380/2").close();
    RedisClusterBus.create("redis://:secret@redis.invalid/1?protocol=2").close();
  }

  @Test
  void parse_malformedPayload_isNull() {
    assertThat(RedisClusterBus.parse(bytes("t\n1\nep\nupdate\n5"))).isNull();
    assertThat(RedisClusterBus.parse(bytes("t\nx\nep\nupdate\n5\n1"))).isNull();
    assertThat(RedisClusterBus.parse(bytes("t\n1\ne\"p\nupdate\n5\n1"))).isNull();
    ClusterBus.Message m = RedisClusterBus.parse(bytes("t\n7\nep\nupdate\n5\n{\"a\":\n1}"));
    assertThat(m.id()).isEqualTo(7);
    assertThat(new String(m.data(), StandardCharsets.UTF_8)).isEqualTo("{\"a\":\n1}");
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
