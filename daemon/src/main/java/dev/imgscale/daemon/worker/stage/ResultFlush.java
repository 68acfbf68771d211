package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.concurrent.Uninterruptibly;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.ResultBatch;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One flush's writes: the results of the held batches as one {@link ResultBatch} object per job,
 * then one notice per object on the results queue; and, per batch, the deletes of what was answered.
 * An object that cannot be written leaves its requests to come back (their rows are written again
 * by whoever handles them next).
 *
 * <p>The notices: no process of imgscale reads the results queue (readers list the output bucket),
 * so the worker no longer sends one per image; it sends one per object written, naming the key and
 * its counts, for a consumer outside imgscale that reacts to new results. That is one SQS request per
 * flush ($0.004 per million images at 100 per object) instead of one per ten images ($0.04); a
 * notice that cannot be sent is only logged: the object is the result, and leaving the requests
 * to come back for a notice would write every row twice.
 */
final class ResultFlush {
    /**
     * Set (to anything) in a worker's environment, the finish stage stops for good right after its
     * first object is written, before any delete: only so that {@code WorkerKillIT} can kill the
     * process with SIGKILL exactly between the write and the deletes. Never set in production.
     */
    static final String PAUSE_AFTER_WRITE_ENV = "IMGSCALE_TEST_PAUSE_AFTER_WRITE";

    private final ObjectStore output;
    private final WorkQueue notices;
    private final String workerId;
    private final long start;
    private final boolean pauseAfterWrite;
    private long seq;

    ResultFlush(ObjectStore output, WorkQueue notices, String workerId, long start) {
        this(output, notices, workerId, start, System.getenv(PAUSE_AFTER_WRITE_ENV) != null);
    }

    ResultFlush(ObjectStore output, WorkQueue notices, String workerId, long start, boolean pauseAfterWrite) {
        this.output = output;
        this.notices = notices;
        this.workerId = workerId;
        this.start = start;
        this.pauseAfterWrite = pauseAfterWrite;
    }

    /** Writes one object per job for the batches' results; items whose object failed are left. */
    void write(List<Batch> batches, Time time) {
        Map<String, List<Item>> byJob = new LinkedHashMap<>();
        // A name twice in one flush (a request sent twice, or delivered twice at once) gets one row:
        // its other request is deleted with it, answered by that row.
        Map<String, Map<String, Item>> names = new LinkedHashMap<>();
        Map<Item, Item> sameAs = new LinkedHashMap<>();
        for (Batch b : batches) {
            for (Item item : b.items) {
                if (item.disposition == Disposition.RESULT) {
                    Item first = names.computeIfAbsent(item.job, j -> new LinkedHashMap<>()).putIfAbsent(item.name, item);
                    if (first == null) {
                        byJob.computeIfAbsent(item.job, j -> new ArrayList<>()).add(item);
                    } else {
                        sameAs.put(item, first);
                    }
                }
            }
        }
        List<String> bodies = new ArrayList<>();
        for (Map.Entry<String, List<Item>> e : byJob.entrySet()) {
            List<ResultRecord> records = new ArrayList<>(e.getValue().size());
            e.getValue().forEach(item -> records.add(item.record));
            ResultBatch.Counts counts = ResultBatch.countsOf(records);
            String key = ResultBatch.key(e.getKey(), workerId, start, ++seq, counts);
            try {
                output.put(key, ResultBatch.write(records), ResultBatch.CONTENT_TYPE);
            } catch (RuntimeException failure) {
                for (Item item : e.getValue()) {
                    item.leave("cannot store the results: " + failure);
                }
                continue;
            }
            bodies.add(Json.write(new ResultBatch.Notice(ResultBatch.VERSION, e.getKey(), key, counts.images(), counts.errors())));
            if (pauseAfterWrite) {
                WorkerLog.LOG.warn("Wrote {} and stopped before deleting its requests ({} is set, for tests only)", key,
                        PAUSE_AFTER_WRITE_ENV);
                Uninterruptibly.take(new LinkedBlockingQueue<Object>()); // until the test kills the process
            }
        }
        // a second request of a name shares the fate of the first: left with it when its object failed
        sameAs.forEach((second, first) -> {
            if (first.disposition == Disposition.LEAVE) {
                second.leave(first.leaveReason);
            }
        });
        long stored = time.nanos();
        batches.forEach(b -> b.storedNanos = stored);
        if (!bodies.isEmpty()) {
            try {
                notices.send(bodies);
            } catch (RuntimeException e) {
                WorkerLog.LOG.warn("Could not send {} result notice(s) (the results are stored): {}", bodies.size(), e.toString());
            }
        }
        long announced = time.nanos();
        batches.forEach(b -> b.announcedNanos = announced);
    }

    /** Deletes the batch's requests that were answered (results written) or dropped (job reset). */
    static void deleteAnswered(WorkQueue requests, Batch batch) {
        List<QueueMessage> done = new ArrayList<>();
        for (Item item : batch.items) {
            if (item.disposition == Disposition.RESULT || item.disposition == Disposition.CANCELLED) {
                done.add(item.message);
            }
        }
        if (done.isEmpty()) {
            return;
        }
        try {
            requests.delete(done);
        } catch (RuntimeException e) {
            // The results are stored: a request that comes back is handled again and gets a second
            // row, which every reader drops (one row per name), so this costs time, not correctness.
            WorkerLog.LOG.warn("Could not delete handled requests (they will be handled again): {}", e.toString());
        }
    }
}
