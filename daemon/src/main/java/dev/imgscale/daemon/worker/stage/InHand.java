package dev.imgscale.daemon.worker.stage;

import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.time.Time;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every batch received and not yet done: what the heartbeats cover, what {@link #count()} counts
 * from each request's receive to its delete (or until it is left to come back), and since when
 * the worker has been idle, which the idle exit counts from.
 */
public final class InHand {
    private final Time time;
    private final WorkerCounters counters;
    private final Set<Batch> held = ConcurrentHashMap.newKeySet();
    private final AtomicInteger count = new AtomicInteger();
    private volatile long idleSince;
    /** Millis of the last receive that brought requests or the last batch finished: the idle exit counts from it. */
    private volatile long lastWork;

    public InHand(Time time, WorkerCounters counters) {
        this.time = time;
        this.counters = counters;
    }

    /** The worker starts polling: idle from now. */
    public void start() {
        lastWork = time.millis();
        idleSince = lastWork;
    }

    /** Takes the received requests into the worker's hands: counted, and theirs until forgotten. */
    Batch hold(List<QueueMessage> messages) {
        Batch batch = new Batch(messages, time.nanos());
        held.add(batch);
        count.addAndGet(messages.size());
        counters.received(messages.size());
        lastWork = time.millis();
        return batch;
    }

    /** A batch that hit a bug (not a failure of S3 or SQS, which are handled per request): leave it whole. */
    void abandon(Batch batch, String when, RuntimeException e) {
        if (batch.stage == BatchStage.DONE) {
            // it was finished and counted: only the bookkeeping after that failed
            WorkerLog.LOG.error("After finishing a batch of {} request(s) ({})", batch.messages.size(), when, e);
            return;
        }
        batch.stopHeartbeat();
        counters.abandoned(batch.messages.size());
        WorkerLog.LOG.error("A batch of {} request(s) failed ({}); they will come back after the visibility timeout", batch.messages.size(),
                when, e);
        forget(batch);
    }

    /** The batch is no longer held: uncounted, and the worker idle if it was the last. */
    void forget(Batch batch) {
        batch.stage = BatchStage.DONE;
        if (!held.remove(batch)) {
            return; // already forgotten: a failure after the batch was finished must not uncount it twice
        }
        long now = time.millis();
        lastWork = now;
        if (count.addAndGet(-batch.messages.size()) == 0) {
            idleSince = now;
        }
    }

    /** Requests held right now, in any stage. */
    public int count() {
        return count.get();
    }

    /** The requests held right now in each stage (stages holding none are left out). */
    public Map<BatchStage, Integer> pipeline() {
        Map<BatchStage, Integer> out = new EnumMap<>(BatchStage.class);
        for (Batch b : held) {
            out.merge(b.stage, b.messages.size(), Integer::sum);
        }
        return out;
    }

    /** Epoch millis since when nothing has been held (0 before the worker starts polling). */
    public long idleSince() {
        return idleSince;
    }

    long lastWork() {
        return lastWork;
    }
}
