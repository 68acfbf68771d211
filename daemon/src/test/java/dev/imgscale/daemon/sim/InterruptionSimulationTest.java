package dev.imgscale.daemon.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.controller.ControllerEvent;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Spot interruptions in virtual time: workers that honour the notice lose no work, and the controller replaces them. */
class InterruptionSimulationTest {
    /** A high rate, so a short trace sees several interruptions: about one per instance every 12 minutes. */
    static final double RATE = 5;

    static Simulator.Settings settings(long seed, Interruptions interruptions) {
        return SimulatorTest.settings(seed, 19).withInterruptions(interruptions);
    }

    static SimulationResult run(long seed, Interruptions interruptions, String trace) {
        return new Simulator(settings(seed, interruptions)).run(Trace.parse(trace), Policies.create("backlog"));
    }

    @Test
    void should_lose_no_work_and_finish_everything_when_workers_honour_the_notice() {
        for (long seed = 1; seed <= 5; seed++) {
            SimulationResult r = run(seed, new Interruptions(RATE, Interruptions.EC2_NOTICE, Interruptions.Response.STOP), "steady:5:1800");
            String where = "seed " + seed + ": " + r.row();
            Interruptions.Tally t = r.interruptions();
            assertTrue(t.interrupted() > 0, "the rate interrupts some workers: " + where);
            assertEquals(0, r.unfinished(), "every image answered: " + where);
            assertEquals(0, t.stranded(), "a noticed worker finishes what it keeps and hands back the rest: " + where);
            assertEquals(0, t.redone(), where);
            assertTrue(r.peak() <= 19, where);
            assertEquals(0, r.busyKills(), "the controller itself still never kills a busy worker: " + where);
        }
    }

    @Test
    void should_strand_and_redo_work_when_workers_ignore_the_notice() {
        Interruptions ignored = new Interruptions(RATE, Interruptions.EC2_NOTICE, Interruptions.Response.IGNORE);
        Interruptions honoured = new Interruptions(RATE, Interruptions.EC2_NOTICE, Interruptions.Response.STOP);
        int strandedTotal = 0;
        for (long seed = 1; seed <= 5; seed++) {
            SimulationResult ignoring = run(seed, ignored, "steady:5:1800");
            SimulationResult honouring = run(seed, honoured, "steady:5:1800");
            assertEquals(0, ignoring.unfinished(), "the visibility timeout still brings everything back: " + ignoring.row());
            assertEquals(0, ignoring.interruptions().handedBack(), ignoring.row());
            assertTrue(ignoring.interruptions().redone() <= ignoring.interruptions().interrupted(), ignoring.row());
            assertTrue(honouring.max() <= ignoring.max(), "handing back at once never makes the slowest image slower: "
                    + honouring.row() + " vs " + ignoring.row());
            strandedTotal += ignoring.interruptions().stranded();
        }
        assertTrue(strandedTotal > 0, "a worker that dies holding a batch strands it");
    }

    @Test
    void should_keep_more_capacity_when_workers_keep_receiving_what_fits() {
        // Long images (12 s, a batch of 10 is two minutes) at the cap: a worker that stops at the notice idles out
        // the rest of its window; one that keeps taking what fits does not.
        int fitWins = 0;
        for (long seed = 1; seed <= 3; seed++) {
            Simulator.Settings base = new Simulator.Settings(Duration.ofSeconds(25), Duration.ofSeconds(12), 19, 0.0832,
                    Duration.ofSeconds(60), seed, Duration.ofSeconds(2));
            SimulationResult stop = new Simulator(base.withInterruptions(new Interruptions(4, Interruptions.EC2_NOTICE,
                    Interruptions.Response.STOP))).run(Trace.parse("burst:1000"), Policies.create("backlog"));
            SimulationResult fit = new Simulator(base.withInterruptions(new Interruptions(4, Interruptions.EC2_NOTICE,
                    Interruptions.Response.FIT))).run(Trace.parse("burst:1000"), Policies.create("backlog"));
            assertEquals(0, fit.unfinished(), fit.row());
            assertTrue(fit.interruptions().interrupted() > 0, fit.row());
            if (fit.makespan() < stop.makespan()) {
                fitWins++;
            }
        }
        assertTrue(fitWins >= 2, "receiving what fits finishes sooner on most seeds");
    }

    @Test
    void should_replace_interrupted_workers() {
        SimulationResult quiet = run(2, Interruptions.none(), "steady:5:1800");
        SimulationResult interrupted = run(2, new Interruptions(RATE, Interruptions.EC2_NOTICE, Interruptions.Response.STOP), "steady:5:1800");

        assertTrue(interrupted.launches() >= quiet.launches() + interrupted.interruptions().interrupted() / 2,
                "launches replace the interrupted: " + quiet.row() + " vs " + interrupted.row());
        long launchesAfterStart = interrupted.events().stream()
                .filter(e -> e.kind() == ControllerEvent.Kind.LAUNCH && e.at().getEpochSecond() > 120).count();
        assertTrue(launchesAfterStart > 0, interrupted.row());
        assertEquals(0, interrupted.unfinished(), interrupted.row());
    }

    @Test
    void should_keep_the_numbers_of_a_run_without_interruptions() {
        Trace trace = Trace.parse("burst:416");
        SimulationResult before = new Simulator(SimulatorTest.settings(1, 19)).run(trace, Policies.create("backlog"));
        SimulationResult off = new Simulator(settings(1, new Interruptions(0, Interruptions.EC2_NOTICE, Interruptions.Response.STOP)))
                .run(trace, Policies.create("backlog"));

        assertEquals(before.row(), off.row());
        assertNull(off.interruptions(), "no interruption columns without interruptions");
        assertEquals(SimulationResult.header(), SimulationResult.header(false));
    }

    @Test
    void should_give_the_same_numbers_for_the_same_seed() {
        for (String policy : Policies.NAMES) {
            Simulator.Settings s = settings(4, new Interruptions(RATE, Interruptions.EC2_NOTICE, Interruptions.Response.STOP));
            SimulationResult a = new Simulator(s).run(Trace.parse("steady:3:600"), Policies.create(policy));
            SimulationResult b = new Simulator(s).run(Trace.parse("steady:3:600"), Policies.create(policy));
            assertEquals(a.row(), b.row(), policy);
            assertEquals(0, a.unfinished(), a.row());
        }
    }

    @Test
    void should_refuse_a_negative_rate_or_notice() {
        assertThrows(ImgscaleException.class, () -> new Interruptions(-1, Interruptions.EC2_NOTICE, Interruptions.Response.STOP));
        assertThrows(ImgscaleException.class, () -> new Interruptions(Double.NaN, Interruptions.EC2_NOTICE, Interruptions.Response.STOP));
        assertThrows(ImgscaleException.class, () -> new Interruptions(1, Duration.ZERO, Interruptions.Response.STOP));
        assertThrows(ImgscaleException.class, () -> Interruptions.Response.parse("later"));
        assertEquals(Interruptions.Response.FIT, Interruptions.Response.parse(" Fit"));
    }
}
