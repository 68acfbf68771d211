package dev.imgscale.daemon.worker.stage;

import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.worker.WorkerOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;

/**
 * Stage 3, on its own thread: for each classified batch, writes the result objects, publishes
 * them, stops the heartbeat and only then deletes the requests answered (or of jobs that were
 * reset); a request whose result could not be written or published is left to come back.
 */
public final class FinishStage implements Runnable {
    private final WorkQueue requests;
    private final WorkQueue results;
    private final ObjectStore output;
    private final ExecutorService io;
    private final WorkerOptions options;
    private final Time time;
    private final InHand inHand;
    private final WorkerCounters counters;
    private final ShutdownSignal shutdown;
    private final BlockingQueue<Batch> toFinish;

    public FinishStage(WorkQueue requests, WorkQueue results, ObjectStore output, ExecutorService io, WorkerOptions options, Time time,
                       InHand inHand, WorkerCounters counters, ShutdownSignal shutdown, BlockingQueue<Batch> toFinish) {
        this.requests = requests;
        this.results = results;
        this.output = output;
        this.io = io;
        this.options = options;
        this.time = time;
        this.inHand = inHand;
        this.counters = counters;
        this.shutdown = shutdown;
        this.toFinish = toFinish;
    }

    @Override
    public void run() {
        while (true) {
            Batch batch;
            try {
                batch = toFinish.take();
            } catch (InterruptedException e) {
                // the worker interrupts this stage only when the classify stage has failed: stop
                return;
            }
            if (batch == Batch.END) {
                return;
            }
            if (!batch.startFinishing()) {
                continue; // handed back at a Spot interruption while it was classified: another worker answers it
            }
            batch.finishNanos = time.nanos();
            try {
                finish(batch);
            } catch (RuntimeException e) {
                inHand.abandon(batch, "while " + batch.stage.name().toLowerCase(Locale.ROOT), e);
            }
        }
    }

    private void finish(Batch batch) {
        List<Item> items = batch.items;
        try {
            Results.build(items, time.millis(), options.model(), options.workerId());
            ForEachItem.run(items, Disposition.RESULT, io,
                    item -> output.put(Keys.result(item.job, item.name), Json.bytes(item.record), "application/json"),
                    "cannot store the result", shutdown);
            batch.storedNanos = time.nanos();
            announce(items);
            batch.announcedNanos = time.nanos();
        } finally {
            // No extension may run during or after the deletes (or, for a request left, extend it
            // after it was meant to come back).
            batch.stopHeartbeat();
        }
        List<QueueMessage> done = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.RESULT || item.disposition == Disposition.CANCELLED) {
                done.add(item.message);
            }
        }
        if (!done.isEmpty()) {
            try {
                requests.delete(done);
            } catch (RuntimeException e) {
                // The results are stored: a request that comes back is handled again and its result
                // overwritten with the same answer, so this costs time, not correctness.
                WorkerLog.LOG.warn("Could not delete handled requests (they will be handled again): {}", e.toString());
            }
        }
        batch.deletedNanos = time.nanos();
        counters.account(batch);
        inHand.forget(batch);
    }

    /** Publishes the stored results; if that fails, the requests stay, to be handled (and published) again. */
    private void announce(List<Item> items) {
        List<Item> stored = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.RESULT) {
                stored.add(item);
                bodies.add(Json.write(item.record));
            }
        }
        if (bodies.isEmpty()) {
            return;
        }
        try {
            results.send(bodies);
        } catch (RuntimeException e) {
            for (Item item : stored) {
                item.leave("cannot publish the result: " + e);
            }
        }
    }
}
