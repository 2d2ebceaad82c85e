package io.watchcast;

import java.time.Duration;
import java.util.Objects;

/**
 * The limits a hub enforces on every connection. Immutable and thread-safe; build with {@link
 * #builder()}.
 *
 * <table>
 *   <caption>Limits and their defaults</caption>
 *   <tr><th>limit</th><th>default</th><th>past it</th></tr>
 *   <tr><td>{@code maxMessageBytes}: one client message, UTF-8 bytes</td><td>64 KiB</td>
 *       <td>{@code error} {@code message_too_large}; transports close with 1009 at the frame</td></tr>
 *   <tr><td>{@code maxSubscriptions} per connection ({@code *} counts as one)</td><td>256</td>
 *       <td>{@code error} {@code too_many_subscriptions}</td></tr>
 *   <tr><td>{@code maxQueuedBytes}: undelivered bytes per connection</td><td>1 MiB</td>
 *       <td>{@code latest} topics replace their undelivered value; a topic with history lags (its
 *       messages wait in the history, the connection catches up from it); otherwise the
 *       connection is closed as a slow consumer. See {@link Session}</td></tr>
 *   <tr><td>{@code stallTimeout}: how long a connection over its limit may read nothing</td>
 *       <td>1 s</td><td>closed as a slow consumer at the next message for it. {@link
 *       Duration#ZERO} closes at once when the limit is passed (no lag)</td></tr>
 *   <tr><td>{@code maxHubQueuedBytes}: undelivered bytes of all connections together</td>
 *       <td>a quarter of the maximum heap ({@link Runtime#maxMemory()}); 256 MiB when the heap has
 *       no limit</td><td>as for {@code maxQueuedBytes}, for the connection the message was
 *       for</td></tr>
 *   <tr><td>{@code messagesPerSecond} / {@code burst}: client messages</td><td>50 / 100</td>
 *       <td>{@code error} {@code rate_limited}; after {@code burst} such errors with no accepted
 *       message between them, the next message over the limit closes the connection</td></tr>
 *   <tr><td>{@code maxTopics}: topics the application creates (publish, declare); and,
 *       separately, topics that exist only because clients subscribed to them</td><td>10,000
 *       each</td><td>a publish to a new topic returns false; a subscribe to a new topic fails with
 *       {@code too_many_topics}. A client-made topic disappears when no connection holds it by
 *       name, so clients can neither exhaust the application's topics nor keep memory</td></tr>
 * </table>
 */
public record Limits(
    int maxMessageBytes,
    int maxSubscriptions,
    long maxQueuedBytes,
    int messagesPerSecond,
    int burst,
    int maxTopics,
    Duration stallTimeout,
    long maxHubQueuedBytes) {

  public static final int DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
  public static final int DEFAULT_MAX_SUBSCRIPTIONS = 256;
  public static final long DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
  public static final int DEFAULT_MESSAGES_PER_SECOND = 50;
  public static final int DEFAULT_BURST = 100;
  public static final int DEFAULT_MAX_TOPICS = 10_000;
  public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofSeconds(1);

  /** {@code maxHubQueuedBytes} when the JVM's heap has no limit. */
  static final long UNBOUNDED_HEAP_HUB_QUEUED_BYTES = 256L * 1024 * 1024;

  public Limits {
    requirePositive("maxMessageBytes", maxMessageBytes);
    requirePositive("maxSubscriptions", maxSubscriptions);
    requirePositive("maxQueuedBytes", maxQueuedBytes);
    requirePositive("messagesPerSecond", messagesPerSecond);
    requirePositive("burst", burst);
    requirePositive("maxTopics", maxTopics);
    requireNonNegative("stallTimeout", stallTimeout);
    requirePositive("maxHubQueuedBytes", maxHubQueuedBytes);
  }

  /**
   * The default of {@code maxHubQueuedBytes}: a quarter of this JVM's maximum heap, so that what
   * waits for slow readers can never take the heap; 256 MiB when the heap has no limit. Bytes of a
   * message queued for several connections count once per connection, so the bound is conservative:
   * the heap they take is less.
   */
  public static long defaultMaxHubQueuedBytes() {
    long max = Runtime.getRuntime().maxMemory();
    return max == Long.MAX_VALUE ? UNBOUNDED_HEAP_HUB_QUEUED_BYTES : Math.max(1, max / 4);
  }

  /** The defaults in the table above. */
  public static Limits defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  private static void requirePositive(String name, long value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, was " + value);
    }
  }

  private static void requireNonNegative(String name, Duration value) {
    Objects.requireNonNull(value, name);
    if (value.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative, was " + value);
    }
  }

  /** Builds {@link Limits}; every value starts at its default. Not thread-safe. */
  public static final class Builder {
    private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
    private int maxSubscriptions = DEFAULT_MAX_SUBSCRIPTIONS;
    private long maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES;
    private int messagesPerSecond = DEFAULT_MESSAGES_PER_SECOND;
    private int burst = DEFAULT_BURST;
    private int maxTopics = DEFAULT_MAX_TOPICS;
    private Duration stallTimeout = DEFAULT_STALL_TIMEOUT;
    private long maxHubQueuedBytes = defaultMaxHubQueuedBytes();

    private Builder() {}

    public Builder maxMessageBytes(int value) {
      requirePositive("maxMessageBytes", value);
      this.maxMessageBytes = value;
      return this;
    }

    public Builder maxSubscriptions(int value) {
      requirePositive("maxSubscriptions", value);
      this.maxSubscriptions = value;
      return this;
    }

    public Builder maxQueuedBytes(long value) {
      requirePositive("maxQueuedBytes", value);
      this.maxQueuedBytes = value;
      return this;
    }

    /** Sustained client messages per second, and how many may arrive at once. */
    public Builder rate(int messagesPerSecond, int burst) {
      requirePositive("messagesPerSecond", messagesPerSecond);
      requirePositive("burst", burst);
      this.messagesPerSecond = messagesPerSecond;
      this.burst = burst;
      return this;
    }

    public Builder maxTopics(int value) {
      requirePositive("maxTopics", value);
      this.maxTopics = value;
      return this;
    }

    /**
     * How long a connection over its queue limit may go without reading before it is closed as a
     * slow consumer; until then it lags (see {@link Session}). {@link Duration#ZERO} turns lagging
     * off: passing the limit closes the connection at once.
     */
    public Builder stallTimeout(Duration value) {
      requireNonNegative("stallTimeout", value);
      this.stallTimeout = value;
      return this;
    }

    /** Undelivered bytes of all connections of the hub together (see {@link Session}). */
    public Builder maxHubQueuedBytes(long value) {
      requirePositive("maxHubQueuedBytes", value);
      this.maxHubQueuedBytes = value;
      return this;
    }

    public Limits build() {
      return new Limits(
          maxMessageBytes,
          maxSubscriptions,
          maxQueuedBytes,
          messagesPerSecond,
          burst,
          maxTopics,
          stallTimeout,
          maxHubQueuedBytes);
    }
  }
}
