package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Baseline {@code idle-timeout}: one new instance per waiting message (up to the cap), and each
 * instance exits after 30 s without work. Drain-safe (an idle instance holds nothing) but pays for
 * every idle half-minute and launches for messages that running instances would have taken.
 */
public final class IdleTimeoutPolicy implements ScalingPolicy {
    private static final Duration IDLE_EXIT = Duration.ofSeconds(30);

    @Override
    public String name() {
        return "idle-timeout";
    }

    @Override
    public Decision decide(FleetSnapshot s) {
        List<String> exit = new ArrayList<>();
        List<String> terminate = new ArrayList<>();
        for (WorkerView w : s.workers()) {
            boolean idleTooLong = w.phase() == WorkerState.POLLING && w.idleSince() != null
                    && Duration.between(w.idleSince(), s.now()).compareTo(IDLE_EXIT) >= 0;
            if (idleTooLong) {
                exit.add(w.id()); // the worker's own idle exit: it stops, then its instance goes
            } else if (w.phase() == WorkerState.STOPPED || w.phase() == WorkerState.LOST) {
                terminate.add(w.id());
            }
        }
        int booting = s.in(WorkerState.STARTING).size();
        int room = Math.max(0, s.cap() - (s.count() - terminate.size()));
        int launch = (int) Math.min(room, Math.max(0, s.visible() - booting));
        return new Decision(launch, exit, List.of(), terminate, List.of(),
                "visible " + s.visible() + ", booting " + booting + "; idle for 30 s: " + exit.size());
    }
}
