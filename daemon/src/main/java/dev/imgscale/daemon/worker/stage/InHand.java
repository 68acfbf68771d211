package dev.imgscale.daemon.worker.stage;

import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
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
    /** Guarded by this: set at a Spot interruption; nothing more is taken into the worker's hands. */
    private boolean closed;

    public InHand(Time time, WorkerCounters counters) {
        this.time = time;
        this.counters = counters;
    }

    /** The worker starts polling: idle from now. */
    public void start() {
        lastWork = time.millis();
        idleSince = lastWork;
    }

    /**
     * Takes the received requests into the worker's hands: counted, and theirs until forgotten.
     * Null after {@link #handBackBeyond}: the caller gives them back.
     */
    synchronized Batch hold(List<QueueMessage> messages) {
        if (closed) {
            return null;
        }
        Batch batch = new Batch(messages, time.nanos());
        held.add(batch);
        count.addAndGet(messages.size());
        counters.received(messages.size());
        lastWork = time.millis();
        return batch;
    }

    /**
     * At a Spot interruption: keeps the batches whose classification fits in {@code budgetMillis} at
     * {@code msPerImage}, furthest along first (those already classified cost only their writes,
     * which the caller's margin covers; then the one being classified; then those received early),
     * and hands every other back at once: its heartbeat stopped first, then its visibility set to 0,
     * so another worker receives it now rather than after the visibility timeout. With no measured
     * time per image yet (0), only batches already in the classify stage or beyond are kept.
     * Nothing is held after this that is not kept.
     *
     * @return the requests handed back
     */
    public int handBackBeyond(long budgetMillis, double msPerImage, WorkQueue queue) {
        List<Map.Entry<Batch, BatchStage>> byProgress = new ArrayList<>();
        synchronized (this) {
            closed = true;
            // each batch's stage read once: the stages move on while this decides
            held.forEach(b -> byProgress.add(Map.entry(b, b.stage)));
        }
        // furthest along first; among equals, the oldest
        byProgress.sort(Comparator.comparing((Map.Entry<Batch, BatchStage> e) -> e.getValue()).reversed()
                .thenComparingLong(e -> e.getKey().receivedNanos));
        double spent = 0;
        List<Batch> giveBack = new ArrayList<>();
        for (Map.Entry<Batch, BatchStage> e : byProgress) {
            Batch b = e.getKey();
            BatchStage stage = e.getValue();
            boolean classified = stage.compareTo(BatchStage.CLASSIFYING) > 0;
            boolean started = stage.compareTo(BatchStage.CLASSIFYING) >= 0;
            double cost = classified ? 0 : b.messages.size() * msPerImage;
            boolean fits = classified || (msPerImage > 0 ? spent + cost <= budgetMillis : started);
            if (fits) {
                spent += cost;
            } else if (b.handBack()) {
                giveBack.add(b);
            }
        }
        int n = 0;
        for (Batch b : giveBack) {
            b.stopHeartbeat();
            try {
                queue.extendVisibility(b.messages, Duration.ZERO);
                WorkerLog.LOG.info("Handed back {} request(s) ({}) for another worker to take now", b.messages.size(), b.stage);
            } catch (RuntimeException e) {
                WorkerLog.LOG.warn("Could not hand back {} request(s); they come back after the visibility timeout: {}", b.messages.size(),
                        e.toString());
            }
            counters.handedBack(b.messages.size());
            forget(b);
            n += b.messages.size();
        }
        return n;
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
