package dev.imgscale.daemon.port;

import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * A message queue with at-least-once delivery and visibility timeouts (SQS in production,
 * ElasticMQ locally). Implementations are thread-safe.
 */
public interface WorkQueue {
    /** The queue's name, for messages. */
    String name();

    /** Sends the bodies, in batches of ten; entries that fail are retried, then reported. */
    void send(List<String> bodies);

    /**
     * Waits up to {@code wait} (at most 20 s) for up to {@code max} (at most 10) messages, which then
     * stay invisible to other receivers for {@code visibility}.
     */
    List<QueueMessage> receive(int max, Duration wait, Duration visibility);

    /** Keeps the messages invisible for {@code visibility} from now. */
    void extendVisibility(Collection<QueueMessage> messages, Duration visibility);

    void delete(Collection<QueueMessage> messages);

    QueueDepth depth();

    /** Removes every message. */
    void purge();
}
