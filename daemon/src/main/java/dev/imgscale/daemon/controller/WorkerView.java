package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import java.time.Instant;

/**
 * One worker in a {@link FleetSnapshot}.
 *
 * @param inHand     messages it holds (0 unless BUSY or DRAINING)
 * @param launchedAt when the fleet launched it
 * @param idleSince  since when it has held nothing (null while it holds messages or has not reported)
 */
public record WorkerView(String id, WorkerState phase, int inHand, Instant launchedAt, Instant idleSince) {
}
