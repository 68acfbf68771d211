package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import java.time.Instant;

/**
 * One thing the controller did (or refused to do), with the worker's phase and the messages it held
 * at that moment: the event log that shows no busy worker was ever terminated.
 */
public record ControllerEvent(Instant at, Kind kind, String worker, WorkerState phase, int inHand, String reason) {
    public enum Kind {
        DECIDE, LAUNCH, DRAIN, CANCEL_DRAIN, TERMINATE, KILL, REFUSE
    }

    @Override
    public String toString() {
        return at + " " + kind + (worker == null ? "" : " " + worker) + (phase == null ? "" : " (" + phase.fleetName() + ", " + inHand + " in hand)")
                + (reason == null || reason.isEmpty() ? "" : ": " + reason);
    }
}
