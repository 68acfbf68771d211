package dev.imgscale.daemon.sim;

import dev.imgscale.daemon.controller.Controller;
import dev.imgscale.daemon.controller.ControllerEvent;
import dev.imgscale.daemon.controller.ScalingPolicy;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.port.WorkerBoard;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerStatus;
import dev.imgscale.daemon.port.QueueDepth;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Runs the real {@link Controller} and a {@link ScalingPolicy} against a virtual-time queue and
 * fleet: workers boot, receive up to ten requests, take a service time per image, report every
 * two seconds and drain when told; a terminated worker's requests come back after the visibility
 * timeout. Nothing sleeps: time jumps in small steps, so a day simulates in seconds. The same
 * settings and seed give the same numbers.
 */
public final class Simulator {
    /**
     * @param boot              mean launch-to-ready time (each worker draws within +-10 %)
     * @param service           mean time per image (each image draws from a log-normal, sigma 0.2)
     * @param cap               the most workers
     * @param pricePerHour      what one instance costs an hour (billed per second, 60 s minimum)
     * @param visibilityTimeout how long a request held by a terminated worker stays invisible
     * @param interruptions     Spot interruptions ({@link Interruptions#none()}: none)
     * @param requestDollarsPerImage what the S3 and SQS requests of one image cost (measured with
     *     {@code imgscale requests}; see docs/data-plane.md), added to the cost per finished image
     */
    public record Settings(Duration boot, Duration service, int cap, double pricePerHour, Duration visibilityTimeout, long seed,
                           Duration controllerInterval, Interruptions interruptions, double requestDollarsPerImage) {
        public Settings {
            interruptions = interruptions == null ? Interruptions.none() : interruptions;
            if (!(requestDollarsPerImage >= 0)) {
                throw new IllegalArgumentException("request cost per image must be 0 or more: " + requestDollarsPerImage);
            }
        }

        /** Without interruptions or request costs (instances only). */
        public Settings(Duration boot, Duration service, int cap, double pricePerHour, Duration visibilityTimeout, long seed,
                        Duration controllerInterval) {
            this(boot, service, cap, pricePerHour, visibilityTimeout, seed, controllerInterval, Interruptions.none(), 0);
        }

        /** Without request costs. */
        public Settings(Duration boot, Duration service, int cap, double pricePerHour, Duration visibilityTimeout, long seed,
                        Duration controllerInterval, Interruptions interruptions) {
            this(boot, service, cap, pricePerHour, visibilityTimeout, seed, controllerInterval, interruptions, 0);
        }

        public Settings withInterruptions(Interruptions interruptions) {
            return new Settings(boot, service, cap, pricePerHour, visibilityTimeout, seed, controllerInterval, interruptions,
                    requestDollarsPerImage);
        }

        /** With the requests of each finished image priced in, in USD per image. */
        public Settings withRequestCost(double dollarsPerImage) {
            return new Settings(boot, service, cap, pricePerHour, visibilityTimeout, seed, controllerInterval, interruptions, dollarsPerImage);
        }

        public static Settings defaults() {
            return new Settings(Duration.ofSeconds(25), Duration.ofMillis(300), 19, 0.0832, Duration.ofSeconds(60), 1,
                    Duration.ofSeconds(2));
        }
    }

    private static final double STEP = 0.05;
    private static final double REPORT_EVERY = 2.0;
    private static final int BATCH = 10;

    private final Settings settings;
    private double now;
    private final Random random;
    private final Random interruptionRandom;
    private int interrupted;
    private int handedBack;
    private int stranded;
    private int redone;

    // the queue: waiting messages (by arrival time), and in-flight ones with their deadlines
    private final Deque<double[]> visible = new ArrayDeque<>();
    private final Map<Integer, double[]> inFlight = new HashMap<>();
    private final Map<Integer, Double> inFlightDeadline = new HashMap<>();
    private double[] latencies;
    private int completed;
    private int nextId;
    private final Map<String, VWorker> workers = new LinkedHashMap<>();
    private final List<double[]> instanceLives = new ArrayList<>();
    private final Map<String, WorkerStatus> reports = new HashMap<>();
    private final Set<String> drainMarks = new HashSet<>();
    private final List<ControllerEvent> events = new ArrayList<>();
    private final List<double[]> timeline = new ArrayList<>();
    private int launches;
    private int peak;

    public Simulator(Settings settings) {
        this.settings = settings;
        this.random = new Random(settings.seed());
        this.interruptionRandom = settings.interruptions().random(settings.seed());
    }

    /** Simulates the trace under the policy. */
    public SimulationResult run(Trace trace, ScalingPolicy policy) {
        latencies = new double[trace.size()];
        Arrays.fill(latencies, Double.NaN);
        Clock clock = new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return at(now);
            }
        };
        Controller controller = new Controller(new VFleet(), () -> new QueueDepth(visible.size(), inFlight.size(), 0), new VBoard(),
                policy, clock, new Controller.Settings(settings.cap(), settings.service(), settings.boot(), Duration.ofSeconds(30),
                        settings.boot().multipliedBy(4), true), events::add);
        double[] arrivals = trace.arrivals();
        int arrived = 0;
        double nextTick = 0;
        double nextSample = 0;
        double lastArrival = arrivals.length == 0 ? 0 : arrivals[arrivals.length - 1];
        double limit = lastArrival + 4 * 3600;
        double lastCompletion = 0;
        double zeroAt = Double.NaN;
        while (now <= limit) {
            while (arrived < arrivals.length && arrivals[arrived] <= now) {
                visible.addLast(new double[] {nextId++, arrivals[arrived]});
                arrived++;
            }
            expireVisibility();
            for (VWorker w : new ArrayList<>(workers.values())) {
                if (now >= w.interruptAt) {
                    reclaim(w);
                } else {
                    w.step();
                }
            }
            if (now >= nextTick) {
                controller.tick();
                nextTick += seconds(settings.controllerInterval());
            }
            peak = Math.max(peak, workers.size());
            if (now >= nextSample) {
                timeline.add(new double[] {now, visible.size() + inFlight.size(), workers.size()});
                nextSample += 1;
            }
            if (completed == arrivals.length && arrived == arrivals.length) {
                if (lastCompletion == 0) {
                    lastCompletion = now;
                }
                if (workers.isEmpty()) {
                    zeroAt = now;
                    timeline.add(new double[] {now, 0, 0});
                    break;
                }
            }
            now += STEP;
        }
        for (VWorker w : workers.values()) {
            instanceLives.add(new double[] {w.launchedAt, now});
        }
        return SimulationResult.of(policy.name(), trace, settings, latencies, completed, instanceLives, peak, launches,
                arrivals.length == 0 ? 0 : arrivals[0], lastCompletion, zeroAt, events, timeline,
                settings.interruptions().enabled() ? new Interruptions.Tally(interrupted, handedBack, stranded, redone) : null);
    }

    /** EC2 takes the instance back: what the worker still holds stays in flight until the visibility timeout. */
    private void reclaim(VWorker w) {
        workers.remove(w.id);
        instanceLives.add(new double[] {w.launchedAt, now});
        if (!w.announced) {
            interrupted++;
        }
        if (!w.hand.isEmpty()) {
            stranded += w.hand.size();
            redone++;
        }
        w.hand.clear();
        w.stopped = true;
        // its last report stays on the board until the controller finds it stale and unlisted
    }

    private void expireVisibility() {
        Iterator<Map.Entry<Integer, Double>> it = inFlightDeadline.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Integer, Double> e = it.next();
            if (e.getValue() <= now) {
                double[] message = inFlight.remove(e.getKey());
                it.remove();
                if (message != null) {
                    visible.addFirst(message);
                }
            }
        }
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static Instant at(double t) {
        return Instant.EPOCH.plusNanos((long) (t * 1e9));
    }

    /** A virtual worker: boots, then loops receive / process / report, and drains when told. */
    private final class VWorker {
        final String id;
        final double launchedAt;
        final double readyAt;
        double startedAt = -1;
        final List<double[]> hand = new ArrayList<>();
        double busyUntil;
        double idleSince;
        long processed;
        double msPerImage;
        double nextReport;
        boolean stopped;
        /** When EC2 reclaims the instance (infinite without interruptions), and whether the worker was told. */
        final double interruptAt;
        boolean announced;
        boolean noticed;

        VWorker(String id) {
            this.id = id;
            this.launchedAt = now;
            this.readyAt = now + seconds(settings.boot()) * (0.9 + 0.2 * random.nextDouble());
            this.interruptAt = now + settings.interruptions().drawLifetime(interruptionRandom);
        }

        void step() {
            if (!announced && now >= interruptAt - seconds(settings.interruptions().notice())) {
                // EC2 announces it either way; only a worker that honours the notice acts on it.
                announced = true;
                interrupted++;
                if (settings.interruptions().honoured()) {
                    takeNotice();
                }
            }
            if (stopped || now < readyAt) {
                return;
            }
            if (startedAt < 0) {
                startedAt = now;
                idleSince = now;
                report();
            }
            // finish the image in progress
            while (!hand.isEmpty() && busyUntil <= now) {
                double[] m = hand.remove(0);
                int id = (int) m[0];
                if (inFlight.remove(id) != null) {
                    inFlightDeadline.remove(id);
                    if (Double.isNaN(latencies[id])) {
                        latencies[id] = now - m[1];
                        completed++;
                    }
                }
                processed++;
                if (!hand.isEmpty()) {
                    busyUntil = now + serviceDraw();
                } else {
                    idleSince = now;
                }
            }
            if (hand.isEmpty()) {
                int room = noticed ? fitsBeforeDeadline() : BATCH;
                if (drainMarks.contains(this.id) || room == 0) {
                    stopped = true;
                    report();
                    return;
                }
                while (hand.size() < room && !visible.isEmpty()) {
                    double[] m = visible.pollFirst();
                    hand.add(m);
                    inFlight.put((int) m[0], m);
                    inFlightDeadline.put((int) m[0], now + seconds(settings.visibilityTimeout()));
                }
                if (!hand.isEmpty()) {
                    busyUntil = now + serviceDraw();
                }
            }
            if (now >= nextReport) {
                report();
            }
        }

        /**
         * EC2's notice: stop receiving, keep what fits before the deadline (the image in progress, then
         * whole images at the mean service time, with a margin), hand the rest back at once.
         */
        void takeNotice() {
            noticed = true;
            double cutoff = interruptAt - seconds(Interruptions.MARGIN);
            double finish = hand.isEmpty() ? now : Math.max(now, busyUntil);
            int keep = hand.isEmpty() ? 0 : 1;
            while (keep < hand.size() && finish + seconds(settings.service()) <= cutoff) {
                finish += seconds(settings.service());
                keep++;
            }
            for (int i = hand.size() - 1; i >= keep; i--) {
                double[] m = hand.remove(i);
                int mid = (int) m[0];
                if (inFlight.remove(mid) != null) {
                    inFlightDeadline.remove(mid);
                    visible.addFirst(m);
                    handedBack++;
                }
            }
            if (hand.isEmpty() && startedAt >= 0) {
                stopped = true;
            }
            if (startedAt >= 0) {
                report();
            }
        }

        /** After a notice: none (STOP), or as many whole images as fit before the deadline's margin (FIT). */
        int fitsBeforeDeadline() {
            if (settings.interruptions().response() != Interruptions.Response.FIT) {
                return 0;
            }
            double left = interruptAt - seconds(Interruptions.MARGIN) - now;
            return (int) Math.max(0, Math.min(BATCH, Math.floor(left / seconds(settings.service()))));
        }

        double serviceDraw() {
            double sigma = 0.2;
            double draw = seconds(settings.service()) * Math.exp(sigma * random.nextGaussian() - sigma * sigma / 2);
            msPerImage = msPerImage == 0 ? draw * 1000 : 0.8 * msPerImage + 0.2 * draw * 1000;
            return draw;
        }

        void report() {
            nextReport = now + REPORT_EVERY;
            long t = at(now).toEpochMilli();
            // A noticed worker reports INTERRUPTED, as the real one does: the controller counts it as lost
            // capacity and replaces it, not as a failure.
            reports.put(id, new WorkerStatus(WorkerStatus.VERSION, id, stopped ? WorkerState.STOPPED
                    : noticed ? WorkerState.INTERRUPTED : hand.isEmpty() ? WorkerState.POLLING : WorkerState.WORKING,
                    hand.size(), processed, msPerImage, at(startedAt).toEpochMilli(), hand.isEmpty() ? at(idleSince).toEpochMilli() : 0, t));
        }
    }

    private final class VFleet implements Fleet {
        @Override
        public String kind() {
            return "virtual";
        }

        @Override
        public List<FleetInstance> list() {
            List<FleetInstance> out = new ArrayList<>();
            for (VWorker w : workers.values()) {
                out.add(new FleetInstance(w.id, now < w.readyAt ? FleetInstance.State.PENDING : FleetInstance.State.RUNNING,
                        at(w.launchedAt), Map.of(STACK_TAG, "sim", ROLE_TAG, ROLE_WORKER,
                        STATE_TAG, drainMarks.contains(w.id) ? STATE_DRAINING : STATE_RUNNING)));
            }
            return out;
        }

        @Override
        public List<FleetInstance> launch(int count, String clientToken) {
            List<FleetInstance> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                VWorker w = new VWorker(String.format("v-%04d", ++launches));
                workers.put(w.id, w);
                out.add(new FleetInstance(w.id, FleetInstance.State.PENDING, at(now), Map.of()));
            }
            return out;
        }

        @Override
        public void markDraining(Collection<String> ids, boolean draining) {
            // the drain marks on the board are what virtual workers read
        }

        @Override
        public void terminate(Collection<String> ids) {
            for (String id : ids) {
                VWorker w = workers.remove(id);
                if (w != null) {
                    instanceLives.add(new double[] {w.launchedAt, now});
                    // what it held stays in flight until the visibility timeout returns it
                    w.hand.clear();
                    w.stopped = true;
                }
            }
        }
    }

    private final class VBoard implements WorkerBoard {
        @Override
        public Map<String, WorkerStatus> statuses() {
            return new HashMap<>(reports);
        }

        @Override
        public Set<String> drainRequests() {
            return new HashSet<>(drainMarks);
        }

        @Override
        public boolean drainRequested(String id) {
            return drainMarks.contains(id);
        }

        @Override
        public void requestDrain(String id) {
            drainMarks.add(id);
        }

        @Override
        public void cancelDrain(String id) {
            drainMarks.remove(id);
        }

        @Override
        public void report(WorkerStatus status) {
            reports.put(status.id(), status);
        }

        @Override
        public void forget(String id) {
            reports.remove(id);
            drainMarks.remove(id);
        }

        @Override
        public void publish(String fleetStateJson) {
            // nobody reads the virtual fleet's state
        }
    }
}
