package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.port.WorkerBoard;
import dev.imgscale.daemon.wire.WorkerStatus;
import dev.imgscale.daemon.port.QueueDepth;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One controller tick: observe the queue, the fleet and the workers' reports; ask the policy;
 * act, within the rules that hold whatever the policy says (never above the cap; never terminate a
 * worker that holds messages). Everything it decides from is read afresh each tick from the fleet
 * and the stack, so a restarted controller carries on where the last one stopped. The same class
 * runs for real ({@link ControllerLoop}) and in virtual time (the simulator).
 */
public final class Controller {
    /**
     * @param cap              the most workers there may be
     * @param serviceEstimate  time per image until workers have measured it
     * @param bootEstimate     launch-to-first-report time until measured
     * @param heartbeatTimeout a worker silent this long is LOST
     * @param bootTimeout      a worker that has not reported this long after launch is LOST
     * @param allowUnsafe      let a policy terminate busy workers (simulated baselines only)
     */
    public record Settings(int cap, Duration serviceEstimate, Duration bootEstimate, Duration heartbeatTimeout, Duration bootTimeout,
                           boolean allowUnsafe) {
        public Settings {
            if (cap < 0) {
                throw new IllegalArgumentException("cap < 0");
            }
        }
    }

    /** What one tick saw and did. */
    public record Tick(FleetSnapshot snapshot, Decision decision, int launched, List<String> terminated) {
    }

    private final Fleet fleet;
    private final Supplier<QueueDepth> queue;
    private final WorkerBoard board;
    private final ScalingPolicy policy;
    private final Clock clock;
    private final Settings settings;
    private final Consumer<ControllerEvent> events;
    private final WorkerPhases phases;
    // in memory only: they shape the policy's estimates, never the safety rules
    private final ArrivalRate arrivals = new ArrivalRate();
    private final QuietGaps quietGaps = new QuietGaps();

    public Controller(Fleet fleet, Supplier<QueueDepth> queue, WorkerBoard board, ScalingPolicy policy, Clock clock, Settings settings,
                      Consumer<ControllerEvent> events) {
        if (!policy.drainSafe() && !settings.allowUnsafe()) {
            throw new IllegalArgumentException("policy " + policy.name() + " terminates busy workers; the controller runs only drain-safe ones");
        }
        this.fleet = fleet;
        this.queue = queue;
        this.board = board;
        this.policy = policy;
        this.clock = clock;
        this.settings = settings;
        this.events = events;
        this.phases = new WorkerPhases(settings.heartbeatTimeout(), settings.bootTimeout());
    }

    public ScalingPolicy policy() {
        return policy;
    }

    /** Observe, decide, enforce, publish. */
    public Tick tick() {
        Instant now = clock.instant();
        Observation seen = observe(now);
        Decision decision = policy.decide(seen.snapshot());
        if (decision.changesAnything()) {
            emit(now, ControllerEvent.Kind.DECIDE, null, null, 0, decision.reason());
        }
        // drains first, then terminations, then launches, each checked against the rules
        drain(decision, seen, now);
        cancelDrains(decision, seen, now);
        List<String> terminated = terminate(decision, seen, now);
        int launched = launch(decision, seen, terminated, now);
        forgetGoneReports(seen, now);
        board.publish(FleetStateJson.of(seen.snapshot(), decision, now, fleet.kind(), policy.name()));
        return new Tick(seen.snapshot(), decision, launched, terminated);
    }

    /** What a tick decides from, all read afresh: the fleet, the workers' reports, the queue. */
    private record Observation(FleetSnapshot snapshot, List<FleetInstance> instances, Map<String, WorkerStatus> statuses,
                               Map<String, WorkerView> byId) {
    }

    private Observation observe(Instant now) {
        List<FleetInstance> instances = new ArrayList<>(fleet.list());
        instances.sort(Comparator.comparing(FleetInstance::launchedAt).thenComparing(FleetInstance::id));
        Map<String, WorkerStatus> statuses = board.statuses();
        Set<String> drains = board.drainRequests();
        QueueDepth depth = queue.get();

        List<WorkerView> views = new ArrayList<>();
        Map<String, WorkerView> byId = new HashMap<>();
        for (FleetInstance instance : instances) {
            WorkerView view = phases.view(instance, statuses.get(instance.id()), drains, now);
            views.add(view);
            byId.put(view.id(), view);
        }
        long backlog = depth.visible() + depth.inFlight();
        ArrivalRate.Rates rates = arrivals.update(statuses, backlog, now);
        FleetSnapshot snapshot = new FleetSnapshot(now, depth.visible(), depth.inFlight(), views, serviceTime(statuses),
                bootTime(instances, statuses), rates.arriving(), rates.finished(), quietGaps.update(backlog, now), settings.cap());
        return new Observation(snapshot, instances, statuses, byId);
    }

    /** Drains only workers that are up and reporting (idle or busy): they finish what they hold, then stop. */
    private void drain(Decision decision, Observation seen, Instant now) {
        List<String> drain = new ArrayList<>();
        for (String id : decision.drain()) {
            WorkerView w = seen.byId().get(id);
            if (w != null && (w.phase() == WorkerState.POLLING || w.phase() == WorkerState.WORKING)) {
                drain.add(id);
            }
        }
        if (!drain.isEmpty()) {
            fleet.markDraining(drain, true);
            for (String id : drain) {
                board.requestDrain(id);
                WorkerView w = seen.byId().get(id);
                emit(now, ControllerEvent.Kind.DRAIN, id, w.phase(), w.inHand(), "");
            }
        }
    }

    private void cancelDrains(Decision decision, Observation seen, Instant now) {
        List<String> cancel = new ArrayList<>();
        for (String id : decision.cancelDrain()) {
            WorkerView w = seen.byId().get(id);
            if (w != null && w.phase() == WorkerState.DRAINING) {
                cancel.add(id);
            }
        }
        if (!cancel.isEmpty()) {
            for (String id : cancel) {
                board.cancelDrain(id);
                emit(now, ControllerEvent.Kind.CANCEL_DRAIN, id, WorkerState.DRAINING, seen.byId().get(id).inHand(), "");
            }
            fleet.markDraining(cancel, false);
        }
    }

    /** Terminates only workers that hold no messages (drained, lost, still booting); kills only where allowed (simulated baselines). */
    private List<String> terminate(Decision decision, Observation seen, Instant now) {
        List<String> terminate = new ArrayList<>();
        for (String id : decision.terminate()) {
            WorkerView w = seen.byId().get(id);
            if (w == null) {
                continue;
            }
            if (w.phase() == WorkerState.STOPPED || w.phase() == WorkerState.LOST || w.phase() == WorkerState.STARTING) {
                terminate.add(id);
                emit(now, ControllerEvent.Kind.TERMINATE, id, w.phase(), w.inHand(), "");
            } else {
                emit(now, ControllerEvent.Kind.REFUSE, id, w.phase(), w.inHand(), "not terminating a worker that may hold messages");
            }
        }
        for (String id : decision.kill()) {
            WorkerView w = seen.byId().get(id);
            if (w == null || terminate.contains(id)) {
                continue;
            }
            if (settings.allowUnsafe()) {
                terminate.add(id);
                emit(now, ControllerEvent.Kind.KILL, id, w.phase(), w.inHand(), "");
            } else {
                emit(now, ControllerEvent.Kind.REFUSE, id, w.phase(), w.inHand(), "kill refused: drain it instead");
            }
        }
        if (!terminate.isEmpty()) {
            fleet.terminate(terminate);
            terminate.forEach(board::forget);
        }
        return terminate;
    }

    /** Launches what the policy asks, never above the cap. */
    private int launch(Decision decision, Observation seen, List<String> terminated, Instant now) {
        int room = Math.max(0, settings.cap() - (seen.instances().size() - terminated.size()));
        int launch = Math.min(decision.launch(), room);
        if (launch < decision.launch()) {
            emit(now, ControllerEvent.Kind.REFUSE, null, null, 0, "launching " + launch + " not " + decision.launch() + ": cap " + settings.cap());
        }
        if (launch > 0) {
            for (FleetInstance launched : fleet.launch(launch, UUID.randomUUID().toString())) {
                emit(now, ControllerEvent.Kind.LAUNCH, launched.id(), WorkerState.STARTING, 0, "");
            }
        }
        return launch;
    }

    /** Reports of instances the fleet no longer lists, once they are stale or stopped, are gone for good. */
    private void forgetGoneReports(Observation seen, Instant now) {
        for (Map.Entry<String, WorkerStatus> e : seen.statuses().entrySet()) {
            boolean listed = seen.byId().containsKey(e.getKey());
            if (!listed && (phases.stale(e.getValue(), now) || e.getValue().stopped())) {
                board.forget(e.getKey());
            }
        }
    }

    private Duration serviceTime(Map<String, WorkerStatus> statuses) {
        double sum = 0;
        int n = 0;
        for (WorkerStatus s : statuses.values()) {
            if (s.msPerImage() > 0 && !s.stopped()) {
                sum += s.msPerImage();
                n++;
            }
        }
        return n == 0 ? settings.serviceEstimate() : Duration.ofNanos((long) (sum / n * 1e6));
    }

    private Duration bootTime(List<FleetInstance> instances, Map<String, WorkerStatus> statuses) {
        long sum = 0;
        int n = 0;
        for (FleetInstance i : instances) {
            WorkerStatus s = statuses.get(i.id());
            if (s != null && s.startedAt() > 0) {
                sum += Math.max(0, s.startedAt() - i.launchedAt().toEpochMilli());
                n++;
            }
        }
        return n == 0 ? settings.bootEstimate() : Duration.ofMillis(sum / n);
    }

    private void emit(Instant at, ControllerEvent.Kind kind, String worker, WorkerState phase, int inHand, String reason) {
        events.accept(new ControllerEvent(at, kind, worker, phase, inHand, reason));
    }
}
