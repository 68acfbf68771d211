package dev.imgscale.daemon.controller;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.LaunchOutcome;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.port.WorkerBoard;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerStatus;
import dev.imgscale.daemon.port.QueueDepth;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
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

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration RATE_WINDOW = Duration.ofSeconds(30);

    private final Fleet fleet;
    private final Supplier<QueueDepth> queue;
    private final WorkerBoard board;
    private final ScalingPolicy policy;
    private final Clock clock;
    private final Settings settings;
    private final Consumer<ControllerEvent> events;
    /** Recent (time, images finished, backlog) samples: only for the arrival-rate estimate, never for safety. */
    private final Deque<Object[]> finished = new ArrayDeque<>();
    private Map<String, Long> lastProcessed = new HashMap<>();
    private long finishedTotal;
    private Instant quietSince;
    private final Deque<Instant[]> gaps = new ArrayDeque<>();

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
    }

    public ScalingPolicy policy() {
        return policy;
    }

    public Tick tick() {
        Instant now = clock.instant();
        List<FleetInstance> instances = new ArrayList<>(fleet.list());
        instances.sort(Comparator.comparing(FleetInstance::launchedAt).thenComparing(FleetInstance::id));
        Map<String, WorkerStatus> statuses = board.statuses();
        Set<String> drains = board.drainRequests();
        QueueDepth depth = queue.get();

        List<WorkerView> views = new ArrayList<>();
        Map<String, WorkerView> byId = new HashMap<>();
        for (FleetInstance instance : instances) {
            WorkerView view = view(instance, statuses.get(instance.id()), drains, now);
            views.add(view);
            byId.put(view.id(), view);
        }
        FleetSnapshot snapshot = new FleetSnapshot(now, depth.visible(), depth.inFlight(), views, serviceTime(statuses),
                bootTime(instances, statuses), 0, 0, Duration.ZERO, settings.cap());
        double[] rates = rates(statuses, depth.visible() + depth.inFlight(), now);
        snapshot = new FleetSnapshot(now, depth.visible(), depth.inFlight(), views, snapshot.serviceTime(), snapshot.bootTime(), rates[0],
                rates[1], quietGap(depth.visible() + depth.inFlight(), now), settings.cap());
        Decision decision = policy.decide(snapshot);
        if (decision.changesAnything()) {
            emit(now, ControllerEvent.Kind.DECIDE, null, null, 0, decision.reason());
        }

        // drains first, then terminations, then launches, each checked against the rules
        List<String> drain = new ArrayList<>();
        for (String id : decision.drain()) {
            WorkerView w = byId.get(id);
            if (w != null && (w.phase() == WorkerState.POLLING || w.phase() == WorkerState.WORKING)) {
                drain.add(id);
            }
        }
        if (!drain.isEmpty()) {
            fleet.markDraining(drain, true);
            for (String id : drain) {
                board.requestDrain(id);
                WorkerView w = byId.get(id);
                emit(now, ControllerEvent.Kind.DRAIN, id, w.phase(), w.inHand(), "");
            }
        }
        List<String> cancel = new ArrayList<>();
        for (String id : decision.cancelDrain()) {
            WorkerView w = byId.get(id);
            if (w != null && w.phase() == WorkerState.DRAINING) {
                cancel.add(id);
            }
        }
        if (!cancel.isEmpty()) {
            for (String id : cancel) {
                board.cancelDrain(id);
                emit(now, ControllerEvent.Kind.CANCEL_DRAIN, id, WorkerState.DRAINING, byId.get(id).inHand(), "");
            }
            fleet.markDraining(cancel, false);
        }
        List<String> terminate = new ArrayList<>();
        for (String id : decision.terminate()) {
            WorkerView w = byId.get(id);
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
            WorkerView w = byId.get(id);
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
        int room = Math.max(0, settings.cap() - (instances.size() - terminate.size()));
        int launch = Math.min(decision.launch(), room);
        if (launch < decision.launch()) {
            emit(now, ControllerEvent.Kind.REFUSE, null, null, 0, "launching " + launch + " not " + decision.launch() + ": cap " + settings.cap());
        }
        if (launch > 0) {
            for (FleetInstance launched : fleet.launch(launch, UUID.randomUUID().toString())) {
                emit(now, ControllerEvent.Kind.LAUNCH, launched.id(), WorkerState.STARTING, 0, "");
            }
        }
        // reports of instances the fleet no longer lists, once they are stale, are gone for good
        for (Map.Entry<String, WorkerStatus> e : statuses.entrySet()) {
            boolean listed = byId.containsKey(e.getKey());
            boolean stale = Duration.ofMillis(now.toEpochMilli() - e.getValue().updatedAt()).compareTo(settings.heartbeatTimeout()) > 0;
            if (!listed && (stale || e.getValue().stopped())) {
                board.forget(e.getKey());
            }
        }
        board.publish(fleetState(snapshot, decision, now));
        return new Tick(snapshot, decision, launch, terminate);
    }

    private WorkerView view(FleetInstance instance, WorkerStatus status, Set<String> drains, Instant now) {
        boolean draining = drains.contains(instance.id()) || Fleet.STATE_DRAINING.equals(instance.tags().get(Fleet.STATE_TAG));
        if (status == null) {
            boolean lost = Duration.between(instance.launchedAt(), now).compareTo(settings.bootTimeout()) > 0;
            return new WorkerView(instance.id(), lost ? WorkerState.LOST : WorkerState.STARTING, 0, instance.launchedAt(), null);
        }
        if (status.stopped()) {
            return new WorkerView(instance.id(), WorkerState.STOPPED, 0, instance.launchedAt(), null);
        }
        if (Duration.ofMillis(now.toEpochMilli() - status.updatedAt()).compareTo(settings.heartbeatTimeout()) > 0) {
            return new WorkerView(instance.id(), WorkerState.LOST, status.inHand(), instance.launchedAt(), null);
        }
        if (status.state() == WorkerState.INTERRUPTED) {
            // EC2 is taking it back: capacity leaving that no policy serves with or puts back in
            // service (unlike a drain, which the backlog policy may cancel), and no failure: it
            // handed back what it could not finish, and its instance goes by itself
            return new WorkerView(instance.id(), WorkerState.INTERRUPTED, status.inHand(), instance.launchedAt(), null);
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

    /**
     * The longest spell (under a minute) of an empty queue, in the last ten minutes, that ended with new work: work
     * that pauses like this is not over when it pauses. Kept in memory only: after a restart it is
     * zero until the next pause, which makes the policy quicker to drain, never unsafe.
     */
    private Duration quietGap(long backlog, Instant now) {
        if (backlog == 0) {
            if (quietSince == null) {
                quietSince = now;
            }
        } else if (quietSince != null) {
            // a pause of a minute or more is worth draining through: a new worker's boot costs less
            // than keeping one idle that long (instances bill at least 60 s anyway)
            if (Duration.between(quietSince, now).compareTo(Duration.ofSeconds(60)) < 0) {
                gaps.addLast(new Instant[] {now, quietSince});
            }
            quietSince = null;
        }
        while (!gaps.isEmpty() && Duration.between(gaps.peekFirst()[0], now).compareTo(Duration.ofMinutes(10)) > 0) {
            gaps.removeFirst();
        }
        Duration longest = Duration.ZERO;
        for (Instant[] g : gaps) {
            Duration d = Duration.between(g[1], g[0]);
            if (d.compareTo(longest) > 0) {
                longest = d;
            }
        }
        return longest;
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

    /**
     * Over the last half minute: images per second arriving (finished, from the workers' counters,
     * plus the backlog's growth: a burst being worked off arrives at 0/s) and finished.
     */
    private double[] rates(Map<String, WorkerStatus> statuses, long backlog, Instant now) {
        Map<String, Long> processed = new HashMap<>();
        for (WorkerStatus s : statuses.values()) {
            processed.put(s.id(), s.processed());
            Long before = lastProcessed.get(s.id());
            finishedTotal += Math.max(0, s.processed() - (before == null ? 0 : before));
        }
        lastProcessed = processed;
        finished.addLast(new Object[] {now, finishedTotal, backlog});
        while (finished.size() > 1 && Duration.between((Instant) finished.peekFirst()[0], now).compareTo(RATE_WINDOW) > 0) {
            finished.removeFirst();
        }
        Object[] first = finished.peekFirst();
        double seconds = Duration.between((Instant) first[0], now).toMillis() / 1000.0;
        if (seconds < 1) {
            return new double[] {0, 0};
        }
        long done = finishedTotal - (long) first[1];
        return new double[] {Math.max(0, (done + backlog - (long) first[2]) / seconds), done / seconds};
    }

    private String fleetState(FleetSnapshot s, Decision d, Instant now) {
        ObjectNode root = JSON.createObjectNode();
        root.put("updatedAt", now.toString());
        root.put("fleet", fleet.kind());
        root.put("policy", policy.name());
        root.put("cap", s.cap());
        root.put("visible", s.visible());
        root.put("inFlight", s.inFlight());
        root.put("msPerImage", s.serviceTime().toMillis());
        root.put("bootSeconds", s.bootTime().toMillis() / 1000.0);
        root.put("imagesPerSecond", Math.round(s.arrivalRate() * 100) / 100.0);
        ArrayNode workers = root.putArray("workers");
        Set<String> seen = new HashSet<>();
        for (WorkerView w : s.workers()) {
            if (seen.add(w.id())) {
                workers.addObject().put("id", w.id()).put("phase", w.phase().fleetName()).put("inHand", w.inHand());
            }
        }
        root.put("decision", d.reason());
        // what the recent launches got (Spot, On-Demand, the fallback), for `status`
        ArrayNode launches = root.putArray("launches");
        for (LaunchOutcome o : fleet.recentLaunches()) {
            launches.add(JSON.valueToTree(o.toMap()));
        }
        return root.toString();
    }

    private void emit(Instant at, ControllerEvent.Kind kind, String worker, WorkerState phase, int inHand, String reason) {
        events.accept(new ControllerEvent(at, kind, worker, phase, inHand, reason));
    }
}
