package dev.imgscale.daemon.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.port.QueueMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The twin keeps the contract SqsWorkQueueTest checks on SQS, in fake time. */
class InMemoryWorkQueueTest {
    final FakeTime time = new FakeTime();
    final InMemoryWorkQueue queue = new InMemoryWorkQueue("queue", time);

    static List<String> bodies(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add("{\"i\":" + i + "}");
        }
        return out;
    }

    List<QueueMessage> drain(Duration visibility) {
        List<QueueMessage> all = new ArrayList<>();
        while (true) {
            List<QueueMessage> batch = queue.receive(50, Duration.ZERO, visibility);
            if (batch.isEmpty()) {
                return all;
            }
            assertTrue(batch.size() <= 10, "at most ten per receive, got " + batch.size());
            all.addAll(batch);
        }
    }

    @Test
    void should_send_in_batches_and_receive_every_message_once_with_its_receive_count() {
        queue.send(bodies(25));
        assertEquals(3, queue.sendCalls());
        assertEquals(new QueueDepth(25, 0, 0), queue.depth());
        List<QueueMessage> received = drain(Duration.ofSeconds(30));
        Set<String> seen = new HashSet<>();
        for (QueueMessage m : received) {
            seen.add(m.body());
            assertEquals(1, m.receiveCount());
        }
        assertEquals(new HashSet<>(bodies(25)), seen);
        assertEquals(new QueueDepth(0, 25, 0), queue.depth());
        queue.delete(received);
        assertEquals(3, queue.deleteCalls());
        assertEquals(new QueueDepth(0, 0, 0), queue.depth());
    }

    @Test
    void should_redeliver_a_message_whose_visibility_expired_with_a_higher_receive_count() {
        queue.send(List.of("once"));
        QueueMessage first = queue.receive(10, Duration.ZERO, Duration.ofMillis(1500)).get(0);
        time.advance(Duration.ofMillis(1999));
        assertEquals(List.of(), queue.receive(10, Duration.ZERO, Duration.ofSeconds(30)), "visibility rounds up to 2 s, as SQS's seconds");
        time.advance(Duration.ofMillis(1));
        List<QueueMessage> again = queue.receive(10, Duration.ZERO, Duration.ofSeconds(30));
        assertEquals(1, again.size());
        assertEquals(first.id(), again.get(0).id());
        assertEquals(2, again.get(0).receiveCount());
        // the first receive's handle no longer deletes it, as in SQS
        queue.delete(List.of(first));
        assertEquals(new QueueDepth(0, 1, 0), queue.depth());
        queue.delete(again);
        assertEquals(new QueueDepth(0, 0, 0), queue.depth());
    }

    @Test
    void should_keep_a_message_hidden_while_its_visibility_is_extended_and_release_it_with_zero() {
        queue.send(List.of("held"));
        List<QueueMessage> held = queue.receive(1, Duration.ZERO, Duration.ofSeconds(1));
        time.advance(Duration.ofMillis(900));
        queue.extendVisibility(held, Duration.ofSeconds(10));
        time.advance(Duration.ofSeconds(9));
        assertEquals(List.of(), queue.receive(10, Duration.ZERO, Duration.ofSeconds(30)));
        assertEquals(new QueueDepth(0, 1, 0), queue.depth());
        queue.extendVisibility(held, Duration.ZERO);
        assertEquals(1, queue.receive(10, Duration.ZERO, Duration.ofSeconds(30)).size());
    }

    @Test
    void should_report_messages_it_could_not_change() {
        queue.send(List.of("x"));
        List<QueueMessage> held = queue.receive(1, Duration.ZERO, Duration.ofSeconds(1));
        time.advance(Duration.ofSeconds(1));
        ImgscaleException expired = assertThrows(ImgscaleException.class, () -> queue.extendVisibility(held, Duration.ofSeconds(30)));
        assertTrue(expired.getMessage().startsWith("Could not extend the visibility of 1 message(s) of queue queue, for example: "
                + "InvalidParameterValue"), expired.getMessage());
        QueueMessage forged = new QueueMessage("id", "not-a-receipt-handle", "x", 1);
        ImgscaleException e = assertThrows(ImgscaleException.class, () -> queue.delete(List.of(forged)));
        assertTrue(e.getMessage().startsWith("Could not delete 1 message(s) of queue queue, for example: ReceiptHandleIsInvalid"),
                e.getMessage());
        ImgscaleException big = assertThrows(ImgscaleException.class, () -> queue.send(List.of("y".repeat(300_000), "small")));
        assertTrue(big.getMessage().startsWith("Could not send 1 message(s) of queue queue"), big.getMessage());
        assertEquals(List.of("x", "small"), queue.bodies(), "the other entries of the batch are sent");
    }

    @Test
    void should_long_poll_in_fake_time_until_a_message_arrives_or_the_wait_ends() throws Exception {
        CompletableFuture<List<QueueMessage>> poll = CompletableFuture.supplyAsync(
                () -> queue.receive(10, Duration.ofSeconds(20), Duration.ofSeconds(30)));
        time.awaitSleepers(1);
        assertEquals(1, queue.waitingReceivers());
        time.advance(Duration.ofSeconds(5));
        time.awaitSleepers(1);
        queue.send(List.of("late"));
        assertEquals("late", poll.get().get(0).body());
        assertEquals(5000, time.elapsedMillis());

        CompletableFuture<List<QueueMessage>> empty = CompletableFuture.supplyAsync(
                () -> queue.receive(10, Duration.ofSeconds(60), Duration.ofSeconds(30)));
        time.awaitSleepers(1);
        time.advance(Duration.ofMillis(19_999));
        time.awaitSleepers(1);
        time.advance(Duration.ofMillis(1));
        assertEquals(List.of(), empty.get(), "a wait is at most 20 s");
        assertEquals(0, queue.waitingReceivers());
    }

    @Test
    void should_move_a_message_to_the_dead_letter_queue_after_max_receives() {
        InMemoryWorkQueue dlq = new InMemoryWorkQueue("queue-dlq", time);
        InMemoryWorkQueue requests = new InMemoryWorkQueue("requests", time, dlq, 2);
        requests.send(List.of("poison", "fine"));
        for (int receive = 1; receive <= 2; receive++) {
            List<QueueMessage> got = requests.receive(10, Duration.ZERO, Duration.ofSeconds(1));
            assertEquals(2, got.size());
            assertEquals(receive, got.get(0).receiveCount());
            if (receive == 2) {
                requests.delete(List.of(got.get(1)));
            }
            time.advance(Duration.ofSeconds(1));
        }
        assertEquals(List.of(), requests.receive(10, Duration.ZERO, Duration.ofSeconds(1)));
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
        List<QueueMessage> dead = dlq.receive(10, Duration.ZERO, Duration.ofSeconds(1));
        assertEquals(List.of("poison"), dead.stream().map(QueueMessage::body).toList());
        assertEquals(3, dead.get(0).receiveCount(), "the receive count goes on in the dead-letter queue");
    }

    @Test
    void should_purge_every_message() {
        queue.send(bodies(12));
        queue.receive(10, Duration.ZERO, Duration.ofSeconds(30));
        queue.purge();
        assertEquals(new QueueDepth(0, 0, 0), queue.depth());
    }

    @Test
    void should_fail_an_operation_while_a_fault_is_injected() {
        queue.inject(InMemoryWorkQueue.Op.RECEIVE, x -> new IllegalStateException("unreachable"));
        assertThrows(IllegalStateException.class, () -> queue.receive(10, Duration.ZERO, Duration.ofSeconds(1)));
        queue.inject(InMemoryWorkQueue.Op.RECEIVE, null);
        assertEquals(List.of(), queue.receive(10, Duration.ZERO, Duration.ofSeconds(1)));
    }
}
