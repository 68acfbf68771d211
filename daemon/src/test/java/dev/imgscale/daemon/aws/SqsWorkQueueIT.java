package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.local.LocalStackExtension;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.port.QueueMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The SQS adapter against the embedded ElasticMQ, through the SDK client {@link AwsClients} builds. */
class SqsWorkQueueIT {
    @TempDir
    static Path dataDir;

    @RegisterExtension
    static final LocalStackExtension local = new LocalStackExtension(() -> dataDir);
    static final AtomicInteger QUEUES = new AtomicInteger();

    static SqsWorkQueue newQueue() {
        String name = "queue-" + QUEUES.incrementAndGet();
        local.aws().sqs().createQueue(b -> b.queueName(name));
        return SqsWorkQueue.open(local.aws().sqs(), name);
    }

    static List<String> bodies(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add("{\"i\":" + i + "}");
        }
        return out;
    }

    /** Receives until the queue gives nothing more. */
    static List<QueueMessage> drain(SqsWorkQueue queue, Duration visibility) {
        List<QueueMessage> all = new ArrayList<>();
        while (true) {
            List<QueueMessage> batch = queue.receive(10, Duration.ZERO, visibility);
            if (batch.isEmpty()) {
                return all;
            }
            assertTrue(batch.size() <= 10, "at most ten per receive, got " + batch.size());
            all.addAll(batch);
        }
    }

    @Test
    void should_say_in_one_sentence_how_to_create_a_missing_queue() {
        ImgscaleException e = assertThrows(ImgscaleException.class, () -> SqsWorkQueue.open(local.aws().sqs(), "no-such-queue"));
        assertEquals("The queue no-such-queue does not exist; run `imgscale init` (or `imgscale local up`) first.", e.getMessage());
    }

    @Test
    void should_send_in_batches_and_receive_every_message_once_with_its_receive_count() {
        SqsWorkQueue queue = newQueue();
        queue.send(bodies(25));
        assertEquals(new QueueDepth(25, 0, 0), queue.depth());

        List<QueueMessage> received = drain(queue, Duration.ofSeconds(30));
        Set<String> seen = new HashSet<>();
        for (QueueMessage m : received) {
            seen.add(m.body());
            assertEquals(1, m.receiveCount(), "first receive of " + m.body());
        }
        assertEquals(new HashSet<>(bodies(25)), seen);
        assertEquals(new QueueDepth(0, 25, 0), queue.depth());

        queue.delete(received);
        assertEquals(new QueueDepth(0, 0, 0), queue.depth());
    }

    @Test
    void should_redeliver_a_message_whose_visibility_expired_with_a_higher_receive_count() throws Exception {
        SqsWorkQueue queue = newQueue();
        queue.send(List.of("once"));
        QueueMessage first = queue.receive(10, Duration.ofSeconds(1), Duration.ofSeconds(1)).get(0);
        assertEquals(1, first.receiveCount());
        Thread.sleep(1_300);
        List<QueueMessage> again = queue.receive(10, Duration.ofSeconds(2), Duration.ofSeconds(30));
        assertEquals(1, again.size());
        assertEquals("once", again.get(0).body());
        assertEquals(first.id(), again.get(0).id());
        assertEquals(2, again.get(0).receiveCount());
    }

    @Test
    void should_keep_a_message_hidden_while_its_visibility_is_extended() throws Exception {
        SqsWorkQueue queue = newQueue();
        queue.send(List.of("held"));
        List<QueueMessage> held = queue.receive(1, Duration.ofSeconds(1), Duration.ofSeconds(1));
        queue.extendVisibility(held, Duration.ofSeconds(10));
        Thread.sleep(1_300);
        assertEquals(List.of(), queue.receive(10, Duration.ZERO, Duration.ofSeconds(30)), "redelivered despite the extension");
        assertEquals(new QueueDepth(0, 1, 0), queue.depth());
        // and back to zero: visible again at once
        queue.extendVisibility(held, Duration.ZERO);
        assertEquals(1, queue.receive(10, Duration.ofSeconds(1), Duration.ofSeconds(30)).size());
    }

    @Test
    void should_report_messages_it_could_not_change() {
        SqsWorkQueue queue = newQueue();
        queue.send(List.of("x"));
        List<QueueMessage> held = queue.receive(1, Duration.ofSeconds(1), Duration.ofSeconds(30));
        queue.delete(held);
        QueueMessage forged = new QueueMessage("id", "not-a-receipt-handle", "x", 1);
        ImgscaleException e = assertThrows(ImgscaleException.class,
                () -> queue.extendVisibility(List.of(forged), Duration.ofSeconds(30)));
        assertTrue(e.getMessage().startsWith("Could not extend the visibility of 1 message(s) of queue " + queue.name()),
                e.getMessage());
    }

    @Test
    void should_purge_every_message_even_twice_in_a_minute() {
        SqsWorkQueue queue = newQueue();
        queue.send(bodies(12));
        queue.purge();
        assertEquals(0, queue.depth().visible());
        queue.send(bodies(3));
        queue.purge();
        assertEquals(0, queue.depth().visible());
    }
}
