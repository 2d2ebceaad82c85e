package io.watchcast;

/**
 * A topic's recent messages for resume: a ring bounded by count and by age. Not thread-safe; the
 * topic's lock guards it.
 */
final class History {
  private final EncodedMessage[] messages;
  private final long[] addedAtNanos;
  private final long maxAgeNanos;
  private int head;
  private int size;

  History(int capacity, long maxAgeNanos) {
    this.messages = new EncodedMessage[capacity];
    this.addedAtNanos = new long[capacity];
    this.maxAgeNanos = maxAgeNanos;
  }

  void add(EncodedMessage message, long nowNanos) {
    if (messages.length == 0) {
      return;
    }
    int tail = (head + size) % messages.length;
    messages[tail] = message;
    addedAtNanos[tail] = nowNanos;
    if (size == messages.length) {
      head = (head + 1) % messages.length;
    } else {
      size++;
    }
  }

  /** Drops messages older than the age bound. */
  void prune(long nowNanos) {
    while (size > 0 && nowNanos - addedAtNanos[head] > maxAgeNanos) {
      messages[head] = null;
      head = (head + 1) % messages.length;
      size--;
    }
  }

  /** The id of the oldest message held, or -1 when empty. Ids in the ring are contiguous. */
  long firstId() {
    return size == 0 ? -1 : messages[head].id();
  }

  int size() {
    return size;
  }

  /** The message at {@code index} from the oldest (0). */
  EncodedMessage get(int index) {
    return messages[(head + index) % messages.length];
  }
}
