package dev.imgscale.daemon.testing;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.time.Time;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * A {@link WorkQueue} in memory with SQS's semantics, in a {@link Time} (a {@link FakeTime} in unit
 * tests): a received message is invisible for its visibility timeout and comes back after it with
 * its receive count raised; a receive long-polls (in that time) until a message is visible or the
 * wait is over; with a dead-letter queue, a message received more than {@code maxReceiveCount}
 * times is moved there at its next receive, as SQS's redrive does. The limits and errors are those
 * of {@code SqsWorkQueue} over SQS: at most ten messages per receive, waits of at most 20 s,
 * durations rounded up to whole seconds, bodies of at most 256 KiB, and a change of visibility
 * with a receipt handle that is stale (its message came back or was deleted) failing as
 * {@code "Could not extend the visibility of N message(s) of queue Q, for example: ..."}.
 *
 * <p>For tests: {@link #inject} makes an operation fail, {@link #waitingReceivers()} says who long
 * polls, and the counters say how many calls each operation took.
 */
@ThreadSafe
public final class InMemoryWorkQueue implements WorkQueue {
    /** SQS's limits, as {@code SqsWorkQueue} applies them. */
    public static final int BATCH = 10;
    public static final Duration MAX_WAIT = Duration.ofSeconds(20);
    public static final Duration MAX_VISIBILITY = Duration.ofHours(12);
    public static final int MAX_BODY_BYTES = 262_144;

    /** The operations a fault can be injected into. */
    public enum Op {
        SEND, RECEIVE, EXTEND, DELETE, DEPTH
    }

    private final String name;
    private final Time time;
    private final InMemoryWorkQueue deadLetters;
    private final int maxReceiveCount;
    /** Guarded by this; in the order sent. */
    private final Map<String, Stored> messages = new LinkedHashMap<>();
    private final Map<Op, Function<List<String>, RuntimeException>> faults = new java.util.EnumMap<>(Op.class);
    private long nextId;
    private int waiting;
    private long sendCalls;
    private long receiveCalls;
    private long extendCalls;
    private long deleteCalls;

    /** A queue without a dead-letter queue. */
    public InMemoryWorkQueue(String name, Time time) {
        this(name, time, null, 0);
    }

    /** A queue whose messages move to {@code deadLetters} when received more than {@code maxReceiveCount} times. */
    public InMemoryWorkQueue(String name, Time time, InMemoryWorkQueue deadLetters, int maxReceiveCount) {
        this.name = Objects.requireNonNull(name, "name");
        this.time = Objects.requireNonNull(time, "time");
        if (deadLetters != null && maxReceiveCount < 1) {
            throw new IllegalArgumentException("maxReceiveCount must be at least 1, was " + maxReceiveCount);
        }
        this.deadLetters = deadLetters;
        this.maxReceiveCount = maxReceiveCount;
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Makes the operation fail with the exception the function returns for its argument (the
     * bodies sent, or the receipt handles), until it returns null or the fault is cleared with null.
     */
    public synchronized void inject(Op op, Function<List<String>, RuntimeException> fault) {
        if (fault == null) {
            faults.remove(op);
        } else {
            faults.put(op, fault);
        }
    }

    @Override
    public void send(List<String> bodies) {
        List<String> failures = new ArrayList<>();
        synchronized (this) {
            fault(Op.SEND, bodies);
            for (int start = 0; start < bodies.size(); start += BATCH) {
                sendCalls++;
                for (String body : bodies.subList(start, Math.min(bodies.size(), start + BATCH))) {
                    if (body.getBytes(StandardCharsets.UTF_8).length > MAX_BODY_BYTES) {
                        failures.add("InvalidParameterValue: One or more parameters are invalid. Reason: Message must be shorter than "
                                + MAX_BODY_BYTES + " bytes.");
                        continue;
                    }
                    String id = name + "-" + (++nextId);
                    messages.put(id, new Stored(id, body, time.millis()));
                }
            }
            notifyAll();
        }
        if (!failures.isEmpty()) {
            throw new ImgscaleException("Could not send " + failures.size() + " message(s) of queue " + name + ", for example: "
                    + failures.get(0) + ".");
        }
    }

    @Override
    public List<QueueMessage> receive(int max, Duration wait, Duration visibility) {
        int count = Math.max(1, Math.min(BATCH, max));
        long waitMillis = Math.max(0, Math.min(MAX_WAIT.toSeconds(), ceilSeconds(wait))) * 1000;
        long visibilityMillis = visibilitySeconds(visibility) * 1000;
        synchronized (this) {
            receiveCalls++;
            fault(Op.RECEIVE, List.of());
            long deadline = time.millis() + waitMillis;
            while (true) {
                List<QueueMessage> out = take(count, visibilityMillis);
                if (!out.isEmpty() || time.millis() >= deadline) {
                    return out;
                }
                waiting++;
                try {
                    time.waitOn(this, deadline);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ImgscaleException("Interrupted while receiving from queue " + name + ".", e);
                } finally {
                    waiting--;
                }
            }
        }
    }

    /** The visible messages, up to count, now invisible for the visibility; those over the receive limit go to the dead letters. */
    private List<QueueMessage> take(int count, long visibilityMillis) {
        long now = time.millis();
        List<QueueMessage> out = new ArrayList<>();
        List<Stored> redriven = new ArrayList<>();
        for (Stored m : messages.values()) {
            if (out.size() == count) {
                break;
            }
            if (m.visibleAt > now) {
                continue;
            }
            if (deadLetters != null && m.receiveCount >= maxReceiveCount) {
                redriven.add(m);
                continue;
            }
            m.receiveCount++;
            m.receiptHandle = m.id + "#" + m.receiveCount;
            m.visibleAt = now + visibilityMillis;
            out.add(new QueueMessage(m.id, m.receiptHandle, m.body, m.receiveCount));
        }
        for (Stored m : redriven) {
            messages.remove(m.id);
            deadLetters.redrive(m);
        }
        return out;
    }

    /** A message moved here by a source queue's redrive: it keeps its id, body and receive count, as in SQS. */
    private synchronized void redrive(Stored m) {
        Stored copy = new Stored(m.id, m.body, time.millis());
        copy.receiveCount = m.receiveCount;
        messages.put(copy.id, copy);
        notifyAll();
    }

    @Override
    public void extendVisibility(Collection<QueueMessage> messages, Duration visibility) {
        long visibilityMillis = visibilitySeconds(visibility) * 1000;
        List<String> failures = new ArrayList<>();
        synchronized (this) {
            fault(Op.EXTEND, handles(messages));
            extendCalls += calls(messages.size());
            long now = time.millis();
            for (QueueMessage q : messages) {
                Stored m = this.messages.get(q.id());
                if (m == null || !q.receiptHandle().equals(m.receiptHandle) || m.visibleAt <= now) {
                    failures.add("InvalidParameterValue: Value " + q.receiptHandle() + " for parameter ReceiptHandle is invalid. Reason: "
                            + "Message does not exist or is not available for visibility timeout change.");
                    continue;
                }
                m.visibleAt = now + visibilityMillis;
            }
            notifyAll();
        }
        if (!failures.isEmpty()) {
            throw new ImgscaleException("Could not extend the visibility of " + failures.size() + " message(s) of queue " + name
                    + ", for example: " + failures.get(0) + ".");
        }
    }

    /**
     * Deletes each message whose receipt handle is its latest. As in SQS, a handle of an earlier
     * receive (the message came back and was received again) or of a message already deleted is
     * accepted and deletes nothing; a handle this queue never issued fails as ReceiptHandleIsInvalid.
     */
    @Override
    public void delete(Collection<QueueMessage> messages) {
        List<String> failures = new ArrayList<>();
        synchronized (this) {
            fault(Op.DELETE, handles(messages));
            deleteCalls += calls(messages.size());
            for (QueueMessage q : messages) {
                if (q.receiptHandle() == null || !q.receiptHandle().startsWith(q.id() + "#") || !q.id().startsWith(name + "-")) {
                    failures.add("ReceiptHandleIsInvalid: The input receipt handle \"" + q.receiptHandle() + "\" is not a valid receipt handle.");
                    continue;
                }
                Stored m = this.messages.get(q.id());
                if (m != null && q.receiptHandle().equals(m.receiptHandle)) {
                    this.messages.remove(q.id());
                }
            }
        }
        if (!failures.isEmpty()) {
            throw new ImgscaleException("Could not delete " + failures.size() + " message(s) of queue " + name + ", for example: "
                    + failures.get(0) + ".");
        }
    }

    @Override
    public synchronized QueueDepth depth() {
        fault(Op.DEPTH, List.of());
        long now = time.millis();
        long visible = 0;
        long inFlight = 0;
        for (Stored m : messages.values()) {
            if (m.visibleAt <= now) {
                visible++;
            } else {
                inFlight++;
            }
        }
        return new QueueDepth(visible, inFlight, 0);
    }

    @Override
    public synchronized void purge() {
        messages.clear();
    }

    /** Receivers long polling right now. */
    public synchronized int waitingReceivers() {
        return waiting;
    }

    /** The bodies in the queue, visible or not, in the order sent. */
    public synchronized List<String> bodies() {
        return messages.values().stream().map(m -> m.body).toList();
    }

    /** SendMessageBatch calls made (one per ten bodies). */
    public synchronized long sendCalls() {
        return sendCalls;
    }

    /** ReceiveMessage calls made. */
    public synchronized long receiveCalls() {
        return receiveCalls;
    }

    /** ChangeMessageVisibilityBatch calls made. */
    public synchronized long extendCalls() {
        return extendCalls;
    }

    /** DeleteMessageBatch calls made. */
    public synchronized long deleteCalls() {
        return deleteCalls;
    }

    @Override
    public String toString() {
        return "InMemoryWorkQueue[" + name + "]";
    }

    private void fault(Op op, List<String> argument) {
        Function<List<String>, RuntimeException> f = faults.get(op);
        if (f != null) {
            RuntimeException e = f.apply(argument);
            if (e != null) {
                throw e;
            }
        }
    }

    private static List<String> handles(Collection<QueueMessage> messages) {
        return messages.stream().map(QueueMessage::receiptHandle).toList();
    }

    private static long calls(int entries) {
        return (entries + BATCH - 1) / BATCH;
    }

    private static long ceilSeconds(Duration d) {
        long s = d.getSeconds();
        return d.getNano() > 0 ? s + 1 : s;
    }

    private static long visibilitySeconds(Duration visibility) {
        return Math.max(0, Math.min(MAX_VISIBILITY.toSeconds(), ceilSeconds(visibility)));
    }

    private static final class Stored {
        final String id;
        final String body;
        long visibleAt;
        int receiveCount;
        String receiptHandle;

        Stored(String id, String body, long visibleAt) {
            this.id = id;
            this.body = body;
            this.visibleAt = visibleAt;
        }
    }
}
