package dev.imgscale.daemon.port;

import dev.imgscale.daemon.wire.WorkerStatus;
import java.util.Map;
import java.util.Set;

/**
 * The stack's shared record of its workers, which outlives any controller: each worker's latest
 * report, and the drain requests a controller has made. In production it is objects in the output
 * bucket ({@code fleet/workers/<id>.json}, {@code fleet/drain/<id>}); the simulator keeps it in memory.
 */
public interface WorkerBoard {
    /** Every worker's latest report, by id. */
    Map<String, WorkerStatus> statuses();

    /** The ids that have been told to drain. */
    Set<String> drainRequests();

    /** Whether this worker has been told to drain (what a worker asks between batches). */
    boolean drainRequested(String id);

    void requestDrain(String id);

    void cancelDrain(String id);

    /** A worker's own report. */
    void report(WorkerStatus status);

    /** Forgets a terminated worker's report and drain request. */
    void forget(String id);

    /** Publishes the fleet's state for `imgscale status` (JSON). */
    void publish(String fleetStateJson);
}
