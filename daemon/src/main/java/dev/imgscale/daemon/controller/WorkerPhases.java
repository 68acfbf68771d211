package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

/**
 * Which phase a worker is in, from its instance, its last report and the drains asked of it. A
 * worker that has not reported within the boot timeout, or has gone silent for the heartbeat
 * timeout, is LOST: the controller may replace it, and its messages come back by visibility timeout.
 */
final class WorkerPhases {
    private final Duration heartbeatTimeout;
    private final Duration bootTimeout;

    WorkerPhases(Duration heartbeatTimeout, Duration bootTimeout) {
        this.heartbeatTimeout = heartbeatTimeout;
        this.bootTimeout = bootTimeout;
    }

    /** A report older than the heartbeat timeout. */
    boolean stale(WorkerStatus status, Instant now) {
        return Duration.ofMillis(now.toEpochMilli() - status.updatedAt()).compareTo(heartbeatTimeout) > 0;
    }

    WorkerView view(FleetInstance instance, WorkerStatus status, Set<String> drains, Instant now) {
        boolean draining = drains.contains(instance.id()) || Fleet.STATE_DRAINING.equals(instance.tags().get(Fleet.STATE_TAG));
        if (status == null) {
            boolean lost = Duration.between(instance.launchedAt(), now).compareTo(bootTimeout) > 0;
            return new WorkerView(instance.id(), lost ? WorkerState.LOST : WorkerState.STARTING, 0, instance.launchedAt(), null);
        }
        if (status.stopped()) {
            return new WorkerView(instance.id(), WorkerState.STOPPED, 0, instance.launchedAt(), null);
        }
        if (stale(status, now)) {
            return new WorkerView(instance.id(), WorkerState.LOST, status.inHand(), instance.launchedAt(), null);
        }
        if (draining || status.state() == WorkerState.DRAINING) {
            return new WorkerView(instance.id(), WorkerState.DRAINING, status.inHand(), instance.launchedAt(), null);
        }
        if (status.inHand() > 0) {
            return new WorkerView(instance.id(), WorkerState.WORKING, status.inHand(), instance.launchedAt(), null);
        }
        // a worker that has never worked has been idle since it started
        long idle = status.idleSince() > 0 ? status.idleSince() : status.startedAt() > 0 ? status.startedAt() : status.updatedAt();
        return new WorkerView(instance.id(), WorkerState.POLLING, 0, instance.launchedAt(), Instant.ofEpochMilli(idle));
    }
}
