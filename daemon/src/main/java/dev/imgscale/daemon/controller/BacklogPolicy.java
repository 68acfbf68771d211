package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * imgscale's own policy ({@code backlog}): size the fleet to finish the backlog within a target
 * latency, knowing how long a worker takes per image and how long a new one takes to boot.
 * <ul>
 *   <li>Launch only what the target needs, and nothing when the running and booting workers will
 *       finish before a new one could boot.</li>
 *   <li>When work comes back, put draining workers back in service before launching new ones.</li>
 *   <li>Under steady load keep {@code ceil(rate x service / utilisation)} workers; drain a worker
 *       only after it has been idle a while and has run its minimum billing (the hysteresis that
 *       stops flapping: before then its time is paid for anyway).</li>
 *   <li>When the queue is empty and the work has stopped, drain every idle worker at once, so the
 *       fleet is back to zero within seconds of the last result.</li>
 *   <li>Never above the cap; never terminates a worker that holds messages: it drains it, and
 *       terminates it once it confirms (DRAINED), or when it stopped reporting (LOST).</li>
 * </ul>
 * A pure function of the snapshot: the same snapshot always gives the same decision.
 */
public final class BacklogPolicy implements ScalingPolicy {
    /** Fraction of its time a worker should be busy under steady load. */
    static final double UTILISATION = 0.8;
    /** Minimum billing of an instance: draining one younger than this saves nothing. */
    static final Duration MIN_BILLING = Duration.ofSeconds(60);

    private final Duration targetLatency;
    private final Duration scaleInIdle;

    /**
     * @param targetLatency how soon the backlog should be done
     * @param scaleInIdle   how long a worker must be idle before it is drained while work remains
     */
    public BacklogPolicy(Duration targetLatency, Duration scaleInIdle) {
        this.targetLatency = targetLatency;
        this.scaleInIdle = scaleInIdle;
    }

    public static BacklogPolicy defaults() {
        return new BacklogPolicy(Duration.ofSeconds(30), Duration.ofSeconds(10));
    }

    @Override
    public String name() {
        return "backlog";
    }

    @Override
    public Decision decide(FleetSnapshot s) {
        List<String> terminate = new ArrayList<>();
        for (WorkerView w : s.workers()) {
            if (w.phase() == WorkerState.STOPPED || w.phase() == WorkerState.LOST) {
                terminate.add(w.id());
            }
        }
        double service = seconds(s.serviceTime());
        double boot = seconds(s.bootTime());
        double rate = 1.0 / service;
        long backlog = s.backlog();
        List<WorkerView> idle = s.in(WorkerState.POLLING);
        List<WorkerView> busy = s.in(WorkerState.WORKING);
        List<WorkerView> booting = s.in(WorkerState.STARTING);
        List<WorkerView> draining = s.in(WorkerState.DRAINING);
        double stream = Math.max(s.arrivalRate(), s.finishRate());
        int steady = stream > 0 ? (int) Math.ceil(stream * service / UTILISATION) : 0;
        // what may still be launched: every listed instance counts against the cap, terminated ones do not
        int room = Math.max(0, s.cap() - (s.count() - terminate.size()));

        if (backlog == 0) {
            // the work has stopped when every worker has been idle for two mean gaps between arrivals, or
            // half as long again as the longest recent pause that work came back from (1 to 30 s): fast
            // after a burst, while work that arrives in clumps or sparsely does not drain between them
            double gap = Math.max(stream > 0 ? 2 / stream : 0, 1.5 * seconds(s.quietGap()));
            double grace = Math.min(30, Math.max(1, gap));
            boolean stopped = busy.isEmpty() && idle.stream().allMatch(w -> idleFor(w, s) >= grace);
            int keep = stopped ? 0 : Math.min(steady, s.cap());
            int serving = idle.size() + busy.size() + booting.size();
            if (serving <= keep) {
                return decision(0, List.of(), List.of(), terminate,
                        terminate.isEmpty() ? "queue empty; keeping " + serving + " for a steady " + fmt(stream) + " images/s"
                                : "queue empty; terminating " + terminate.size() + " drained/lost");
            }
            int excess = serving - keep;
            List<String> drain = new ArrayList<>();
            List<String> term = new ArrayList<>(terminate);
            // booting workers hold nothing: terminate them rather than wait for them to boot and drain
            for (WorkerView w : booting) {
                if (excess > 0) {
                    term.add(w.id());
                    excess--;
                }
            }
            for (WorkerView w : byDrainPreference(idle, s)) {
                if (excess > 0 && (stopped || (idleFor(w, s) >= grace && paidUp(w, s)))) {
                    drain.add(w.id());
                    excess--;
                }
            }
            return decision(0, drain, List.of(), term, "queue empty" + (drain.isEmpty() && term.size() == terminate.size()
                    ? ", waiting " + fmt(grace) + " s of idleness before draining" : "; draining " + drain.size() + " idle, terminating "
                    + (term.size() - terminate.size()) + " booting"));
        }

        double target = seconds(targetLatency);
        int running = idle.size() + busy.size();
        double[] remaining = booting.stream().mapToDouble(w -> Math.max(0, boot - seconds(Duration.between(w.launchedAt(), s.now()))))
                .toArray();
        double arrivals = s.arrivalRate();
        double finish = finishTime(backlog, arrivals, rate, running, remaining, 0, boot);
        List<String> cancel = new ArrayList<>();
        int launch = 0;
        String why;
        if (finish > target) {
            // first bring draining workers back: they are booted already
            for (WorkerView w : draining) {
                if (finishTime(backlog, arrivals, rate, running + cancel.size(), remaining, 0, boot) <= target) {
                    break;
                }
                cancel.add(w.id());
            }
            int serving = running + cancel.size();
            double now = finishTime(backlog, arrivals, rate, serving, remaining, 0, boot);
            if (now > target && now > boot) {
                // launch the fewest that meet the target (or all the room if none does), but only
                // as many as can still help: a worker launched now works from `boot` on
                launch = room;
                for (int n = 1; n <= room; n++) {
                    if (finishTime(backlog, arrivals, rate, serving, remaining, n, boot) <= target) {
                        launch = n;
                        break;
                    }
                }
            }
            double after = finishTime(backlog, arrivals, rate, serving, remaining, launch, boot);
            why = "backlog " + backlog + ": " + serving + " serving + " + booting.size() + " booting finish in " + fmt(now)
                    + " s (target " + fmt(target) + " s, boot " + fmt(boot) + " s, " + fmt(service) + " s/image)"
                    + (launch > 0 ? "; launching " + launch + " to finish in " + fmt(after) + " s" : "")
                    + (launch == 0 && now <= boot ? "; a new worker would boot too late to help" : "")
                    + (launch == 0 && room == 0 && now > boot ? "; at the cap of " + s.cap() : "")
                    + (cancel.isEmpty() ? "" : "; cancelling " + cancel.size() + " drains");
            return decision(launch, List.of(), cancel, terminate, why);
        }
        // enough capacity: drain the idle surplus, slowly (hysteresis), keeping what the target and the
        // steady rate need
        int needed = Math.max(steady, minimumServing(backlog, arrivals, rate, remaining, boot, target));
        int surplus = running + booting.size() - Math.max(needed, 1);
        List<String> drain = new ArrayList<>();
        for (WorkerView w : byDrainPreference(idle, s)) {
            if (surplus <= 0) {
                break;
            }
            if (idleFor(w, s) >= seconds(scaleInIdle) && paidUp(w, s)) {
                drain.add(w.id());
                surplus--;
            }
        }
        why = "backlog " + backlog + " done in " + fmt(finish) + " s by " + running + " serving + " + booting.size() + " booting (target "
                + fmt(target) + " s)" + (drain.isEmpty() ? "" : "; draining " + drain.size() + " idle for " + fmt(seconds(scaleInIdle)) + " s+");
        return decision(0, drain, List.of(), terminate, why);
    }

    /** The fewest running workers (with the booting ones) that finish the backlog within the target. */
    private static int minimumServing(long backlog, double arrivals, double rate, double[] booting, double boot, double target) {
        for (int n = 0; n < 1000; n++) {
            if (finishTime(backlog, arrivals, rate, n, booting, 0, boot) <= target) {
                return n;
            }
        }
        return 1000;
    }

    /**
     * When the backlog is done, with work still arriving: the smallest t with running*rate*t + sum
     * over booting workers of rate*(t - remaining) + launched*rate*(t - boot) >= backlog + arrivals*t
     * (infinite when the fleet can never catch up).
     */
    static double finishTime(long backlog, double arrivals, double rate, int running, double[] booting, int launched, double boot) {
        if (backlog <= 0) {
            return 0;
        }
        if ((running + booting.length + launched) * rate <= arrivals) {
            return Double.POSITIVE_INFINITY;
        }
        double lo = 0;
        double hi = 1;
        while (capacity(hi, rate, running, booting, launched, boot) < backlog + arrivals * hi) {
            hi *= 2;
        }
        for (int i = 0; i < 60; i++) {
            double mid = (lo + hi) / 2;
            if (capacity(mid, rate, running, booting, launched, boot) >= backlog + arrivals * mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return hi;
    }

    private static double capacity(double t, double rate, int running, double[] booting, int launched, double boot) {
        double c = running * rate * t + launched * rate * Math.max(0, t - boot);
        for (double r : booting) {
            c += rate * Math.max(0, t - r);
        }
        return c;
    }

    /** Idle workers, those past their minimum billing first, then the longest idle. */
    private static List<WorkerView> byDrainPreference(List<WorkerView> idle, FleetSnapshot s) {
        return idle.stream().sorted(Comparator
                .comparing((WorkerView w) -> Duration.between(w.launchedAt(), s.now()).compareTo(MIN_BILLING) < 0)
                .thenComparing(w -> w.idleSince() == null ? s.now() : w.idleSince())
                .thenComparing(WorkerView::id)).toList();
    }

    /**
     * Whether the worker has run its minimum billing: before that its time is paid for already, and
     * draining it while work goes on would only mean paying for a new one's boot when work comes back.
     */
    private static boolean paidUp(WorkerView w, FleetSnapshot s) {
        return Duration.between(w.launchedAt(), s.now()).compareTo(MIN_BILLING) >= 0;
    }

    private static double idleFor(WorkerView w, FleetSnapshot s) {
        return w.idleSince() == null ? 0 : seconds(Duration.between(w.idleSince(), s.now()));
    }

    private static Decision decision(int launch, List<String> drain, List<String> cancel, List<String> terminate, String why) {
        return new Decision(launch, drain, cancel, terminate, List.of(), why);
    }

    static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    static String fmt(double v) {
        if (Double.isInfinite(v)) {
            return "never";
        }
        return String.format(java.util.Locale.ROOT, v < 10 ? "%.1f" : "%.0f", v);
    }
}
