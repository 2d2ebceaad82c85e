package io.watchcast;

/**
 * A topic's recent messages for resume: a ring bounded by count and by age. The ring grows with use
 * up to its capacity, so an idle topic or a large capacity costs no memory up front. Not
 * thread-safe; the topic's lock guards it.
 */
final class History {
  private static final int INITIAL = 16;

  private final int capacity;
  private EncodedMessage[] messages;
  private long[] addedAtNanos;
  private final long maxAgeNanos;
  private int head;
  private int size;

  History(int capacity, long maxAgeNanos) {
    this.capacity = capacity;
    this.messages = new EncodedMessage[Math.min(capacity, INITIAL)];
    this.addedAtNanos = new long[messages.length];
    this.maxAgeNanos = maxAgeNanos;
  }

  void add(EncodedMessage message, long nowNanos) {
    if (capacity == 0) {
      return;
    }
    if (size == messages.length && size < capacity) {
      grow();
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

  private void grow() {
    int length = (int) Math.min(capacity, 2L * messages.length);
    EncodedMessage[] m = new EncodedMessage[length];
    long[] at = new long[length];
    for (int i = 0; i < size; i++) {
      int from = (head + i) % messages.length;
      m[i] = messages[from];
      at[i] = addedAtNanos[from];
    }
    messages = m;
    addedAtNanos = at;
    head = 0;
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
