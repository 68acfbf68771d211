package dev.imgscale.daemon.worker.stage;

import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.worker.WorkerOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Stage 3, on its own thread: takes each classified batch and holds its results until a flush
 * ({@link FlushPolicy}: N images, a few seconds, nothing else in hand, or stopping). A flush writes
 * one JSON Lines object per job ({@link ResultFlush}), stops the held batches' heartbeats, and only
 * then deletes the requests answered (or of jobs that were reset); a request whose object could not
 * be written is left to come back. Until its flush a batch keeps its heartbeat: its requests stay
 * invisible to other workers however long they wait here.
 */
public final class FinishStage implements Runnable {
    private final WorkQueue requests;
    private final Time time;
    private final InHand inHand;
    private final WorkerCounters counters;
    private final ShutdownSignal shutdown;
    private final BlockingQueue<Batch> toFinish;
    private final WorkerOptions options;
    private final FlushPolicy policy;
    private final ResultFlush flush;
    /** Taken from the classify stage, results built, not yet written. Touched by this stage's thread only. */
    private final List<Batch> held = new ArrayList<>();
    private int heldImages;
    private long oldestSince;

    public FinishStage(WorkQueue requests, WorkQueue results, ObjectStore output, WorkerOptions options, Time time,
                       InHand inHand, WorkerCounters counters, ShutdownSignal shutdown, BlockingQueue<Batch> toFinish) {
        this.requests = requests;
        this.time = time;
        this.inHand = inHand;
        this.counters = counters;
        this.shutdown = shutdown;
        this.toFinish = toFinish;
        this.options = options;
        this.policy = new FlushPolicy(options.flushImages(), options.flushEvery());
        this.flush = new ResultFlush(output, results, options.workerId(), time.millis());
    }

    @Override
    public void run() {
        while (true) {
            Batch batch;
            try {
                // a real-time wait, bounded: the flush's clock may be a test's fake time
                batch = toFinish.poll(policy.pause(heldImages, oldestSince, nowMillis()), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                // the worker interrupts this stage only when the classify stage has failed: stop, and
                // leave what is held to come back
                List.copyOf(held).forEach(b -> inHand.abandon(b, "the classify stage failed", null));
                return;
            }
            if (batch == Batch.END) {
                flushHeld();
                return;
            }
            if (batch != null) {
                take(batch);
            }
            if (policy.due(heldImages, oldestSince, nowMillis(), shutdown.requested(), inHand.count() == heldImages)) {
                flushHeld();
            }
        }
    }

    /** The flush's clock: the nanos the batches are stamped with, in millis. */
    private long nowMillis() {
        return time.nanos() / 1_000_000;
    }

    /** Takes a classified batch in, held until the flush. */
    private void take(Batch batch) {
        if (!batch.startFinishing()) {
            return; // handed back at a Spot interruption while it was classified: another worker answers it
        }
        batch.finishNanos = time.nanos();
        if (held.isEmpty()) {
            // the interval counts from its classification, however long the hand-off took
            oldestSince = (batch.classifiedNanos != 0 ? batch.classifiedNanos : time.nanos()) / 1_000_000;
        }
        held.add(batch);
        heldImages += batch.size();
    }

    private void flushHeld() {
        if (held.isEmpty()) {
            return;
        }
        List<Batch> batches = List.copyOf(held);
        held.clear();
        heldImages = 0;
        for (Batch b : batches) {
            b.stage = BatchStage.FINISHING;
        }
        try {
            // stamped now: a row's finishedAt (and latency) is when it is written, as readers see it
            long now = time.millis();
            for (Batch b : batches) {
                Results.build(b.items, now, options.model(), options.workerId());
            }
            flush.write(batches, time);
        } catch (RuntimeException e) {
            batches.forEach(b -> inHand.abandon(b, "while " + b.stage.name().toLowerCase(Locale.ROOT), e));
            return;
        } finally {
            // No extension may run during or after the deletes (or, for a request left, extend it
            // after it was meant to come back).
            batches.forEach(Batch::stopHeartbeat);
        }
        for (Batch b : batches) {
            try {
                ResultFlush.deleteAnswered(requests, b);
                b.deletedNanos = time.nanos();
                counters.account(b, time.millis());
                inHand.forget(b);
            } catch (RuntimeException e) {
                inHand.abandon(b, "after its results were written", e);
            }
        }
    }
}
