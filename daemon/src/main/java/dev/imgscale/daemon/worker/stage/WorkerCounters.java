package dev.imgscale.daemon.worker.stage;


import dev.imgscale.daemon.wire.WorkerUsage;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/** What the worker has done, counted per batch, with the batch and totals lines of its log. */
public final class WorkerCounters {
    /** How often the totals line is logged. */
    public static final Duration TOTALS_EVERY = Duration.ofMinutes(1);

    private final boolean decodeAhead;
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong left = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong handedBack = new AtomicLong();
    private final AtomicLong busyNanos = new AtomicLong();
    private volatile double msPerImage;
    /** Time.nanos() when the finish stage last finished a batch, 0 before the first. */
    private volatile long lastFinishNanos;
    private long reportedProcessed;
    /** Per job: images finished and busy nanos, for the usage record a job's cost is computed from. */
    private final Map<String, long[]> byJob = new HashMap<>();

    /** @param decodeAhead whether the receive stage decodes (the batch line then names the steps so) */
    public WorkerCounters(boolean decodeAhead) {
        this.decodeAhead = decodeAhead;
    }

    void received(int n) {
        received.addAndGet(n);
    }

    /** A batch handed back at a Spot interruption: visible to other workers at once. */
    void handedBack(int n) {
        handedBack.addAndGet(n);
        batches.incrementAndGet();
    }

    /** A batch left whole: its requests come back. */
    void abandoned(int n) {
        left.addAndGet(n);
        batches.incrementAndGet();
    }

    /**
     * Counts a finished batch and logs its line: what became of its requests and where the time went.
     *
     * @param nowMillis wall time of the batch's end, for the usage record's per-job first and last
     */
    void account(Batch batch, long nowMillis) {
        List<Item> items = batch.items;
        int ok = 0;
        int errors = 0;
        int leaving = 0;
        int dropped = 0;
        String firstLeave = null;
        for (Item item : items) {
            switch (item.disposition) {
                case RESULT -> {
                    if (item.error == null) {
                        ok++;
                    } else {
                        errors++;
                        WorkerLog.LOG.debug("{}/{}: {} ({})", item.job, item.name, item.error, item.errorMessage);
                    }
                }
                case CANCELLED -> dropped++;
                default -> {
                    leaving++;
                    if (firstLeave == null) {
                        firstLeave = (item.name == null ? item.message.id() : item.name) + ": " + item.leaveReason;
                    }
                }
            }
        }
        processed.addAndGet(ok + errors);
        failed.addAndGet(errors);
        left.addAndGet(leaving);
        cancelled.addAndGet(dropped);
        long n = batches.incrementAndGet();
        // What the pipeline delivers: the time since the previous batch left it, or since this one
        // came in if the worker was idle in between. Summed, it is the time the worker was busy.
        // A batch leaves the pipeline when the finish stage takes it (it may then wait for a flush
        // of many batches, which says nothing of how fast images are classified).
        long tookNanos = batch.finishNanos != 0 ? batch.finishNanos : batch.deletedNanos;
        long previous = lastFinishNanos;
        long delivered = Math.max(0, tookNanos - Math.max(previous, batch.receivedNanos));
        lastFinishNanos = Math.max(previous, tookNanos);
        busyNanos.addAndGet(delivered);
        shareByJob(items, delivered, nowMillis);
        double perImage = delivered / 1e6 / items.size();
        msPerImage = msPerImage == 0 ? perImage : 0.7 * msPerImage + 0.3 * perImage;
        double latency = (batch.deletedNanos - batch.receivedNanos) / 1e6;
        WorkerLog.LOG.info(String.format(Locale.ROOT, "Batch %d: %d images, %.1f images/s (%.0f ms since the last batch, %.0f ms in hand;"
                        + " %d labelled, %d errors, %d left, %d dropped; %s %.0f ms, wait %.0f ms, %sinfer %.0f ms, wait %.0f ms,"
                        + " held for the flush and store %.0f ms, publish %.0f ms, delete %.0f ms)",
                n, items.size(), items.size() * 1e9 / Math.max(delivered, 1), delivered / 1e6, latency, ok, errors, leaving, dropped,
                decodeAhead ? "fetch+decode" : "fetch", ms(batch.receivedNanos, batch.preparedNanos),
                ms(batch.preparedNanos, batch.classifyNanos),
                decodeAhead ? "" : String.format(Locale.ROOT, "decode %.0f ms, ", ms(batch.classifyNanos, batch.decodedNanos)),
                ms(batch.decodedNanos, batch.classifiedNanos), ms(batch.classifiedNanos, batch.finishNanos),
                ms(batch.finishNanos, batch.storedNanos), ms(batch.storedNanos, batch.announcedNanos),
                ms(batch.announcedNanos, batch.deletedNanos)));
        if (leaving > 0) {
            WorkerLog.LOG.warn("Left {} request(s) to come back after the visibility timeout, e.g. {}", leaving, firstLeave);
        }
    }

    /** Splits a batch's busy time among its jobs by the images of each that got a result. */
    private void shareByJob(List<Item> items, long delivered, long nowMillis) {
        Map<String, Integer> images = new HashMap<>();
        for (Item item : items) {
            if (item.disposition == Disposition.RESULT && item.job != null) {
                images.merge(item.job, 1, Integer::sum);
            }
        }
        int total = images.values().stream().mapToInt(Integer::intValue).sum();
        synchronized (byJob) {
            images.forEach((job, n) -> {
                long[] tally = byJob.computeIfAbsent(job, j -> new long[] {0, 0, nowMillis, nowMillis});
                tally[0] += n;
                tally[1] += Math.max(0, delivered) * n / total;
                tally[3] = Math.max(tally[3], nowMillis);
            });
        }
    }

    /** Per job, images finished and the milliseconds of busy time they took, so far. */
    public Map<String, WorkerUsage.JobShare> byJob() {
        Map<String, WorkerUsage.JobShare> out = new TreeMap<>();
        synchronized (byJob) {
            byJob.forEach((job, t) -> out.put(job, new WorkerUsage.JobShare(t[0], t[1] / 1_000_000, t[2], t[3])));
        }
        return out;
    }

    /** Milliseconds the worker has been busy delivering images. */
    public long busyMs() {
        return busyNanos.get() / 1_000_000;
    }

    private static double ms(long from, long to) {
        return from == 0 || to == 0 ? 0 : (to - from) / 1e6;
    }

    /** Logs the totals line: everything so far, the last minute, and the rate while busy. */
    public synchronized void logTotals() {
        long now = processed.get();
        long lastMinute = now - reportedProcessed;
        reportedProcessed = now;
        double busySeconds = busyNanos.get() / 1e9;
        WorkerLog.LOG.info(String.format("Totals: %d images (%d errors) in %d batches; %d in the last minute (%.1f images/s);"
                        + " %.1f images/s while busy", now, failed.get(), batches.get(), lastMinute,
                lastMinute / (double) TOTALS_EVERY.toSeconds(), busySeconds > 0 ? now / busySeconds : 0.0));
    }

    /** Requests finished with a result (labels or an error), written and published. */
    public long processed() {
        return processed.get();
    }

    /** Of the processed requests, those whose result is an error. */
    public long failed() {
        return failed.get();
    }

    /** Batches finished (or left whole). */
    public long batches() {
        return batches.get();
    }

    /** Requests received, each delivery counted. */
    public long received() {
        return received.get();
    }

    /** Receives that ended without deleting the request, which will come back (or go to the dead-letter queue). */
    public long left() {
        return left.get();
    }

    /** Requests deleted without a result because their job no longer exists. */
    public long cancelled() {
        return cancelled.get();
    }

    /** Requests handed back (visibility 0) at a Spot interruption, for another worker to take at once. */
    public long handedBack() {
        return handedBack.get();
    }

    /** Recent wall time per image as the pipeline delivers them, smoothed; 0 until the first batch. */
    public double msPerImage() {
        return msPerImage;
    }
}
