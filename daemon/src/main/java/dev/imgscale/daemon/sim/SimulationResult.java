package dev.imgscale.daemon.sim;

import dev.imgscale.daemon.controller.ControllerEvent;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The figures of one simulated run.
 *
 * @param makespan         seconds from the first arrival to the last result
 * @param instanceSeconds  seconds of instance life, summed
 * @param cost             at the hourly price, billed per second with a 60 s minimum per instance, plus the
 *                         requests of each finished image
 * @param backToZero       seconds from the last result until no instance is left (NaN if never)
 * @param unfinished       images without a result when the run stopped
 * @param busyKills        terminations of workers that held messages
 * @param interruptions    what Spot interruptions did; null when the run had none
 */
public record SimulationResult(String policy, String trace, int images, double makespan, double p50, double p95, double max,
                               double instanceSeconds, double cost, int peak, int launches, double backToZero, int unfinished,
                               int busyKills, List<ControllerEvent> events, List<double[]> timeline,
                               Interruptions.Tally interruptions) {

    static SimulationResult of(String policy, Trace trace, Simulator.Settings settings, double[] latencies, int completed,
                               List<double[]> lives, int peak, int launches, double firstArrival, double lastCompletion,
                               double zeroAt, List<ControllerEvent> events, List<double[]> timeline,
                               Interruptions.Tally interruptions) {
        double[] done = Arrays.stream(latencies).filter(v -> !Double.isNaN(v)).sorted().toArray();
        double instanceSeconds = 0;
        double billed = 0;
        for (double[] life : lives) {
            double s = life[1] - life[0];
            instanceSeconds += s;
            billed += Math.max(60, s);
        }
        int busyKills = (int) events.stream()
                .filter(e -> (e.kind() == ControllerEvent.Kind.KILL || e.kind() == ControllerEvent.Kind.TERMINATE) && e.inHand() > 0)
                .count();
        return new SimulationResult(policy, trace.name(), trace.size(), lastCompletion - firstArrival, percentile(done, 0.50),
                percentile(done, 0.95), done.length == 0 ? Double.NaN : done[done.length - 1], instanceSeconds,
                billed / 3600 * settings.pricePerHour() + completed * settings.requestDollarsPerImage(), peak, launches, Double.isNaN(zeroAt) ? Double.NaN : zeroAt - lastCompletion,
                trace.size() - completed, busyKills, List.copyOf(events), List.copyOf(timeline), interruptions);
    }

    static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    public static String header() {
        return String.format(Locale.ROOT, "%-16s %9s %8s %8s %8s %10s %9s %5s %8s %9s %6s",
                "policy", "makespan", "p50", "p95", "max", "inst-sec", "cost", "peak", "launches", "to-zero", "killed");
    }

    /** {@link #header()} with the interruption columns, for runs with Spot interruptions. */
    public static String header(boolean interruptions) {
        return interruptions ? header() + String.format(Locale.ROOT, " %5s %7s %9s %7s", "intr", "handed", "stranded", "redone")
                : header();
    }

    public String row() {
        String tally = interruptions == null ? "" : String.format(Locale.ROOT, " %5d %7d %9d %7d",
                interruptions.interrupted(), interruptions.handedBack(), interruptions.stranded(), interruptions.redone());
        return String.format(Locale.ROOT, "%-16s %8.1fs %7.1fs %7.1fs %7.1fs %10.0f %9s %5d %8d %9s %6d%s%s",
                policy, makespan, p50, p95, max, instanceSeconds, String.format(Locale.ROOT, "$%.4f", cost), peak, launches,
                Double.isNaN(backToZero) ? "never" : String.format(Locale.ROOT, "%.1fs", backToZero), busyKills, tally,
                unfinished > 0 ? "  (" + unfinished + " unfinished)" : "");
    }
}
