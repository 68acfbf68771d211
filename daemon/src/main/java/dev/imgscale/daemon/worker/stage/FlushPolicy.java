package dev.imgscale.daemon.worker.stage;

import java.time.Duration;

/**
 * When the finish stage writes the results it holds: one object per job per flush, so the fewer
 * flushes the fewer PUTs ($5 per million at list prices), but every image waits for its flush
 * with its request in hand. It flushes when
 * <ul>
 *   <li>{@code images} results wait (default 100, {@code WorkerOptions.DEFAULT_FLUSH_IMAGES}: a PUT per 100 images is
 *       $0.05 per million, a tenth of what objects of one receive (ten) cost, and at 100-200
 *       images/s per worker it is well under a second of work, so a result is late by at most
 *       that much while a backlog is worked off);</li>
 *   <li>the oldest has waited {@code every} (default 5 s: a slow worker still shows results
 *       within seconds, and a batch waits far inside its heartbeat's visibility extension);</li>
 *   <li>nothing else is in hand: the pipeline is empty behind these results (the receive stage
 *       is long-polling an empty queue), so waiting longer would only delay the end of a job;
 *       with a backlog the pipeline always holds the next batch and flushes go by size;</li>
 *   <li>the worker is stopping (drain, SIGTERM, idle exit, Spot notice): at once, batch by batch.</li>
 * </ul>
 */
public record FlushPolicy(int images, Duration every) {
    /** The longest the finish stage waits for a batch before it looks at the clock again. */
    static final long MAX_PAUSE_MS = 200;

    public FlushPolicy {
        if (images < 1) {
            throw new IllegalArgumentException("A flush holds at least 1 image, not " + images + ".");
        }
        if (every == null || every.isNegative()) {
            throw new IllegalArgumentException("The flush interval cannot be negative.");
        }
    }

    /**
     * @param waiting     results held, not yet written
     * @param oldestSince when the oldest of them was taken in (epoch millis)
     * @param now         epoch millis
     * @param stopping    the worker is draining or stopping
     * @param nothingElse no other request is in the worker's hands
     */
    boolean due(int waiting, long oldestSince, long now, boolean stopping, boolean nothingElse) {
        if (waiting == 0) {
            return false;
        }
        return waiting >= images || now - oldestSince >= every.toMillis() || stopping || nothingElse;
    }

    /** How long to wait for the next batch before looking again (real millis, 1 to {@value #MAX_PAUSE_MS}). */
    long pause(int waiting, long oldestSince, long now) {
        if (waiting == 0) {
            return MAX_PAUSE_MS;
        }
        return Math.max(1, Math.min(MAX_PAUSE_MS, oldestSince + every.toMillis() - now));
    }
}
