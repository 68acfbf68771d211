package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Everything a {@link ScalingPolicy} decides from, rebuilt by the controller at every tick from the
 * queue's attributes, the fleet and the workers' reports (never from the controller's memory).
 *
 * @param visible      requests waiting in the queue
 * @param inFlight     requests received and not yet deleted
 * @param serviceTime  measured time one worker takes per image (or the configured estimate)
 * @param bootTime     measured time from launch to a worker's first report (or the estimate)
 * @param arrivalRate  images per second arriving recently: finished plus the backlog's growth (0 when unknown)
 * @param finishRate   images per second finished recently across the fleet
 * @param quietGap     the longest recent spell of an empty queue that ended with new work (zero if none): how
 *                     long the work may pause without being over
 * @param cap          the most workers there may be
 */
public record FleetSnapshot(Instant now, long visible, long inFlight, List<WorkerView> workers, Duration serviceTime,
                            Duration bootTime, double arrivalRate, double finishRate, Duration quietGap, int cap) {
    public FleetSnapshot {
        workers = List.copyOf(workers);
    }

    public long backlog() {
        return visible + inFlight;
    }

    public List<WorkerView> in(WorkerState phase) {
        return workers.stream().filter(w -> w.phase() == phase).toList();
    }

    /** Workers that exist and count against the cap (every listed one). */
    public int count() {
        return workers.size();
    }
}
