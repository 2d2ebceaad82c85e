package io.watchcast;

/**
 * A topic as {@link ConnectionManager#topics()} reports it. Immutable and thread-safe.
 *
 * @param name the topic
 * @param id the sequence id of the last message emitted, 0 before the first
 * @param epoch the topic's stream incarnation in this hub
 * @param subscribers connections subscribed now
 * @param throttle the topic's throttle mode
 * @param hasSnapshot whether a message has been emitted (and so a snapshot exists)
 */
public record TopicInfo(
    String name,
    long id,
    String epoch,
    int subscribers,
    Throttle.Mode throttle,
    boolean hasSnapshot) {}
