package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Baseline {@code target-tracking}: AWS's recommended SQS scaling, target tracking on backlog per
 * instance (visible messages / in-service instances) with target = acceptable latency / service
 * time. As an Auto Scaling group does it: the metric is a one-minute CloudWatch average, scale-out
 * needs 3 consecutive minutes above target, scale-in 15 consecutive minutes below 90 % of it, and
 * scale-in terminates instances without asking whether they are busy.
 *
 * <p>Unlike the policies a controller runs, it keeps state between calls (its alarm history), as
 * CloudWatch does: it is a simulator baseline only.
 */
public final class TargetTrackingPolicy implements ScalingPolicy {
    private final Duration acceptableLatency;
    private Instant minuteStart;
    private double sum;
    private int samples;
    private int minutesAbove;
    private int minutesBelow;
    private int desired;

    public TargetTrackingPolicy(Duration acceptableLatency) {
        this.acceptableLatency = acceptableLatency;
    }

    @Override
    public String name() {
        return "target-tracking";
    }

    @Override
    public boolean drainSafe() {
        return false;
    }

    @Override
    public Decision decide(FleetSnapshot s) {
        double target = Math.max(1, acceptableLatency.toNanos() / (double) s.serviceTime().toNanos());
        int inService = Math.max(1, s.count());
        if (minuteStart == null) {
            minuteStart = s.now();
        }
        sum += s.visible() / (double) inService;
        samples++;
        String why = "collecting the one-minute metric";
        if (Duration.between(minuteStart, s.now()).compareTo(Duration.ofMinutes(1)) >= 0) {
            double metric = sum / samples;
            minuteStart = s.now();
            sum = 0;
            samples = 0;
            minutesAbove = metric > target ? minutesAbove + 1 : 0;
            minutesBelow = metric < 0.9 * target ? minutesBelow + 1 : 0;
            int wanted = (int) Math.min(s.cap(), Math.ceil(s.visible() / target));
            if (minutesAbove >= 3 && wanted > desired) {
                desired = Math.max(wanted, s.count() == 0 ? 1 : wanted);
                minutesAbove = 0;
            } else if (s.count() == 0 && s.visible() > 0 && minutesAbove >= 3) {
                desired = 1;
            } else if (minutesBelow >= 15) {
                desired = Math.min(desired, wanted);
                minutesBelow = 0;
            }
            why = "backlog per instance " + String.format(java.util.Locale.ROOT, "%.1f", metric) + " (target "
                    + String.format(java.util.Locale.ROOT, "%.0f", target) + "), desired " + desired;
        }
        List<String> kill = new ArrayList<>();
        List<String> terminate = new ArrayList<>();
        for (WorkerView w : s.workers()) {
            if (w.phase() == WorkerState.STOPPED || w.phase() == WorkerState.LOST) {
                terminate.add(w.id());
            }
        }
        // an interrupted worker is leaving (EC2 takes its instance): replaced, never killed
        List<String> leaving = s.in(WorkerState.INTERRUPTED).stream().map(WorkerView::id).toList();
        int count = s.count() - terminate.size() - leaving.size();
        for (int i = s.workers().size() - 1; i >= 0 && count - kill.size() > desired; i--) {
            String id = s.workers().get(i).id();
            if (!terminate.contains(id) && !leaving.contains(id)) {
                kill.add(id);
            }
        }
        int launch = Math.max(0, Math.min(s.cap(), desired) - count);
        return new Decision(launch, List.of(), List.of(), terminate, kill, why);
    }
}
