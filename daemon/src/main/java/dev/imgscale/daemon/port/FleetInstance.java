package dev.imgscale.daemon.port;

import java.time.Instant;
import java.util.Map;

/**
 * One worker instance as the fleet itself reports it (EC2 from its tags, local processes from their
 * registry): never from a controller's memory.
 *
 * @param id         the instance id (EC2 {@code i-...}; local {@code local-...}); workers report under it
 * @param state      what the fleet says of its life cycle
 * @param launchedAt when it was launched
 * @param tags       the fleet's tags (stack, role, and whatever else the fleet keeps)
 */
public record FleetInstance(String id, State state, Instant launchedAt, Map<String, String> tags) {
    /** Life cycle as the fleet reports it; terminated instances are not listed. */
    public enum State {
        /** Launched, not yet running (EC2 pending). */
        PENDING,
        /** Running (the worker on it may still be booting). */
        RUNNING,
        /** Being stopped or terminated. */
        STOPPING
    }

    public FleetInstance {
        tags = Map.copyOf(tags);
    }
}
