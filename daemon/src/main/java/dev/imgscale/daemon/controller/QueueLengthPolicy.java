package dev.imgscale.daemon.controller;

import java.util.ArrayList;
import java.util.List;

/**
 * Baseline {@code queue-length}, as most published versions of this system do it: instances =
 * min(visible + in flight, cap); scale-in terminates whichever instances come last in the list,
 * busy or not. Not drain-safe: the simulator runs it, the controller refuses it.
 */
public final class QueueLengthPolicy implements ScalingPolicy {
    @Override
    public String name() {
        return "queue-length";
    }

    @Override
    public boolean drainSafe() {
        return false;
    }

    @Override
    public Decision decide(FleetSnapshot s) {
        int desired = (int) Math.min(s.backlog(), s.cap());
        int count = s.count();
        if (desired > count) {
            return new Decision(desired - count, List.of(), List.of(), List.of(), List.of(), "desired " + desired + " > " + count);
        }
        if (desired < count) {
            List<String> kill = new ArrayList<>();
            List<WorkerView> all = s.workers();
            for (int i = all.size() - 1; i >= 0 && kill.size() < count - desired; i--) {
                kill.add(all.get(i).id());
            }
            return new Decision(0, List.of(), List.of(), List.of(), kill, "desired " + desired + " < " + count + ": terminating the last " + kill.size());
        }
        return Decision.nothing("desired " + desired);
    }
}
