package dev.imgscale.daemon.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.controller.ControllerEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The controller's invariants with our policy, over random traces in virtual time. */
class SimulatorTest {
    static Simulator.Settings settings(long seed, int cap) {
        return new Simulator.Settings(Duration.ofSeconds(25), Duration.ofMillis(300), cap, 0.0832, Duration.ofSeconds(60), seed,
                Duration.ofSeconds(2));
    }

    /** Bursts and steady stretches with quiet gaps, from a seed. */
    static Trace randomTrace(long seed) {
        Random r = new Random(seed);
        List<Double> times = new ArrayList<>();
        double t = 0;
        for (int segment = 0; segment < 1 + r.nextInt(4); segment++) {
            if (r.nextBoolean()) {
                int n = 1 + r.nextInt(300);
                for (int i = 0; i < n; i++) {
                    times.add(t);
                }
            } else {
                double rate = 0.2 + r.nextDouble() * 15;
                double length = 10 + r.nextInt(200);
                for (double x = 0; x < length; x += 1 / rate) {
                    times.add(t + x);
                }
                t += length;
            }
            t += r.nextInt(120);
        }
        return new Trace("random-" + seed, times.stream().mapToDouble(Double::doubleValue).sorted().toArray());
    }

    @Test
    void should_hold_the_invariants_on_random_traces() {
        for (long seed = 1; seed <= 25; seed++) {
            Trace trace = randomTrace(seed);
            int cap = 1 + (int) (seed % 19);
            SimulationResult r = new Simulator(settings(seed, cap)).run(trace, Policies.create("backlog"));
            String where = "seed " + seed + ", cap " + cap + ", " + trace + ": " + r.row();
            assertTrue(r.peak() <= cap, "never above the cap: " + where);
            assertEquals(0, r.busyKills(), "never terminates a worker holding messages: " + where);
            assertEquals(0, r.unfinished(), "every message served: " + where);
            // a slow finish (a few images a second or less) is only taken for over after up to 30 s of quiet
            assertTrue(r.backToZero() <= 35, "back to zero after the work: " + where);
            for (ControllerEvent e : r.events()) {
                assertTrue(e.kind() != ControllerEvent.Kind.KILL, where + ": " + e);
                if (e.kind() == ControllerEvent.Kind.TERMINATE) {
                    assertEquals(0, e.inHand(), where + ": " + e);
                }
            }
        }
    }

    @Test
    void should_be_back_to_zero_within_5_seconds_of_the_last_result_after_a_burst() {
        // (a burst of a dozen images finished in seconds looks like a sparse stream of 0.5 images/s
        // to a 30 s rate window, and is kept up to 2 gaps (4 s) longer so that such a stream does not flap)
        for (int n : new int[] {100, 416, 2000}) {
            SimulationResult r = new Simulator(settings(n, 19)).run(Trace.parse("burst:" + n), Policies.create("backlog"));
            assertTrue(r.backToZero() <= 5, r.row());
        }
    }

    @Test
    void should_not_oscillate_under_steady_load() {
        SimulationResult r = new Simulator(settings(7, 19)).run(Trace.parse("steady:5:1800"), Policies.create("backlog"));
        long lateLaunches = r.events().stream()
                .filter(e -> e.kind() == ControllerEvent.Kind.LAUNCH && e.at().getEpochSecond() > 120).count();
        long lateDrains = r.events().stream()
                .filter(e -> e.kind() == ControllerEvent.Kind.DRAIN && e.at().getEpochSecond() > 120 && e.at().getEpochSecond() < 1790).count();
        assertTrue(lateLaunches <= 1 && lateDrains <= 1, "after the start-up, a steady stream keeps its fleet: "
                + lateLaunches + " launches, " + lateDrains + " drains; " + r.row());
    }

    @Test
    void should_give_the_same_numbers_for_the_same_seed() {
        Trace trace = Trace.parse("steady:3:120");
        for (String policy : Policies.NAMES) {
            SimulationResult a = new Simulator(settings(3, 19)).run(trace, Policies.create(policy));
            SimulationResult b = new Simulator(settings(3, 19)).run(trace, Policies.create(policy));
            assertEquals(a.row(), b.row(), policy);
        }
    }

    @Test
    void should_beat_the_baselines_where_the_readme_says_it_does() {
        Simulator.Settings s = settings(1, 19);
        SimulationResult ours = new Simulator(s).run(Trace.parse("burst:416"), Policies.create("backlog"));
        for (String baseline : List.of("queue-length", "idle-timeout", "target-tracking")) {
            SimulationResult other = new Simulator(s).run(Trace.parse("burst:416"), Policies.create(baseline));
            assertTrue(ours.cost() < other.cost(), "cheaper than " + baseline + ": " + ours.row() + " vs " + other.row());
            assertTrue(ours.p95() <= other.p95(), "p95 no worse than " + baseline + ": " + ours.row() + " vs " + other.row());
        }
    }

    @Test
    void should_add_the_requests_of_each_finished_image_to_the_cost() {
        Trace trace = randomTrace(11);
        Simulator.Settings without = settings(11, 19);
        Simulator.Settings with = without.withRequestCost(12.70 / 1_000_000);
        SimulationResult a = new Simulator(without).run(trace, Policies.create("backlog"));
        SimulationResult b = new Simulator(with).run(trace, Policies.create("backlog"));
        assertEquals(a.instanceSeconds(), b.instanceSeconds(), 1e-9, "same run, same seed");
        assertEquals((a.images() - a.unfinished()) * 12.70 / 1_000_000, b.cost() - a.cost(), 1e-9);
    }
}
