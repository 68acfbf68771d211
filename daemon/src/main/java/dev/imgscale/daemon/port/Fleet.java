package dev.imgscale.daemon.port;

import java.util.Collection;
import java.util.List;

/**
 * Where workers run: EC2 instances, or child processes on this machine. The fleet is the record of
 * what exists: {@link #list()} asks it every time (EC2 tags, the process registry), so a controller
 * that restarts finds every instance it launched. Implementations are thread-safe.
 */
public interface Fleet {
    /** Tag keys every implementation keeps. */
    String STACK_TAG = "imgscale:stack";
    String ROLE_TAG = "imgscale:role";
    String STATE_TAG = "imgscale:state";
    String ROLE_WORKER = "worker";
    String STATE_RUNNING = "running";
    String STATE_DRAINING = "draining";

    /** {@code ec2}, {@code local}, or {@code virtual}. */
    String kind();

    /** The stack's worker instances that are not terminated. */
    List<FleetInstance> list();

    /**
     * Launches {@code count} workers. {@code clientToken} makes the call idempotent: a retried call
     * with the same token launches nothing more (EC2 RunInstances ClientToken).
     *
     * @return the launched instances
     */
    List<FleetInstance> launch(int count, String clientToken);

    /**
     * Records on the instances themselves (EC2 tag {@code imgscale:state}, the local registry) that
     * they are draining ({@code true}) or back in service ({@code false}), so a restarted controller
     * knows. The worker itself is told through the stack's drain markers.
     */
    void markDraining(Collection<String> ids, boolean draining);

    /** Terminates the instances (missing ones are not an error). */
    void terminate(Collection<String> ids);

    /**
     * The last launches and what came of them (markets, fallbacks), oldest first, for the controller
     * to publish in the fleet's state; empty for fleets with nothing to say.
     */
    default List<LaunchOutcome> recentLaunches() {
        return List.of();
    }
}
