package dev.imgscale.daemon.wire;

/**
 * Where a worker is in its life: what the worker reports of itself (the {@code state} of its
 * {@link WorkerStatus}, by these names) and what the controller makes of it, which adds
 * {@link #LOST} for a worker that stopped reporting and counts a launched worker that has not
 * reported yet as {@link #STARTING}.
 *
 * <p>The controller's event log and the fleet state it publishes have always named these states
 * BOOTING, IDLE, BUSY, DRAINING, DRAINED and LOST; {@link #fleetName()} keeps those words, so that
 * their readers (and fleet records already written) see no change. INTERRUPTED is new, and the same
 * word everywhere.
 */
public enum WorkerState {
    /** Launched or constructed; not yet polling. Holds nothing. */
    STARTING("BOOTING"),
    /** Waiting on the request queue, holding nothing. */
    POLLING("IDLE"),
    /** Holding requests in some stage of its pipeline. */
    WORKING("BUSY"),
    /** Shutdown has begun (or the controller asked it to drain): receives nothing new, finishes what it holds. */
    DRAINING("DRAINING"),
    /**
     * EC2 announced a Spot interruption: receives nothing new, finishes only what fits before the
     * deadline and has handed the rest back. Capacity leaving, like a drain, but one the controller
     * must neither put back in service nor count as a failure: it replaces it.
     */
    INTERRUPTED("INTERRUPTED"),
    /** Stopped: holds nothing, safe to terminate. */
    STOPPED("DRAINED"),
    /** Seen by the controller only: stopped reporting (or never booted); replaced, its messages come back by visibility timeout. */
    LOST("LOST");

    private final String fleetName;

    WorkerState(String fleetName) {
        this.fleetName = fleetName;
    }

    /** The controller's word for the state, in its event log and fleet state. */
    public String fleetName() {
        return fleetName;
    }

    /** Counts towards capacity that will serve the backlog. */
    public boolean serving() {
        return this == STARTING || this == POLLING || this == WORKING;
    }
}
