package dev.imgscale.daemon.controller;

/**
 * Decides how the fleet should change, as a pure function of a snapshot: no clock, no I/O, no
 * memory between calls beyond what the snapshot says (so a restarted controller decides the same).
 */
public interface ScalingPolicy {
    String name();

    Decision decide(FleetSnapshot snapshot);

    /** Whether it only ever terminates workers that hold nothing. The controller runs only these for real. */
    default boolean drainSafe() {
        return true;
    }
}
