package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.port.LaunchOutcome;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/** The last launches' outcomes, oldest first: bounded, so a controller that runs for weeks keeps a few lines. */
final class LaunchLog {
    private final int kept;
    private final Deque<LaunchOutcome> outcomes = new ArrayDeque<>();

    LaunchLog(int kept) {
        this.kept = kept;
    }

    synchronized void add(LaunchOutcome outcome) {
        outcomes.addLast(outcome);
        while (outcomes.size() > kept) {
            outcomes.removeFirst();
        }
    }

    synchronized List<LaunchOutcome> list() {
        return List.copyOf(outcomes);
    }
}
