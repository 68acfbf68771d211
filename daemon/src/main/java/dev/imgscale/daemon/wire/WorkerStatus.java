package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * What a worker reports about itself every few seconds (version 1), at
 * {@code fleet/workers/<id>.json} in the output bucket.
 *
 * @param id           the instance id the fleet knows it by
 * @param state        STARTING, POLLING, WORKING, DRAINING, INTERRUPTED or STOPPED (written by name)
 * @param inHand       requests it holds right now
 * @param processed    images it has finished (labelled or failed) since it started
 * @param msPerImage   its recent service time per image (0 until it has worked)
 * @param startedAt    epoch millis when it first reported
 * @param idleSince    epoch millis since when it has held nothing (0 while it holds requests)
 * @param updatedAt    epoch millis of this report
 * @param reads        the newest request format ({@link WorkRequest#VERSION}) it reads; absent (null) in the
 *                     reports of releases before shards and sources in place, which read version 1 only
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record WorkerStatus(int v, String id, WorkerState state, int inHand, long processed, double msPerImage, long startedAt,
                           long idleSince, long updatedAt, Integer reads) {
    public static final int VERSION = 1;

    /** A report without {@code reads}, as the previous release wrote it (the simulator and tests). */
    public WorkerStatus(int v, String id, WorkerState state, int inHand, long processed, double msPerImage, long startedAt,
                        long idleSince, long updatedAt) {
        this(v, id, state, inHand, processed, msPerImage, startedAt, idleSince, updatedAt, null);
    }

    /** The newest request format this worker reads: 1 when its report does not say (a previous release). */
    public int readsRequests() {
        return reads == null ? ImageRequest.VERSION : reads;
    }

    public boolean stopped() {
        return state == WorkerState.STOPPED;
    }
}
