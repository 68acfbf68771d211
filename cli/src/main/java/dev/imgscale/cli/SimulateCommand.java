package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.sim.Interruptions;
import dev.imgscale.daemon.sim.Policies;
import dev.imgscale.daemon.sim.SimulationResult;
import dev.imgscale.daemon.sim.Simulator;
import dev.imgscale.daemon.sim.TimelineSvg;
import dev.imgscale.daemon.sim.Trace;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imgscale simulate}: the real controller and policies in virtual time, side by side. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = {"Run the controller with each policy against a virtual queue and fleet (no sleeping) and compare:",
            "makespan, p50/p95/max latency, instance-seconds, cost (per-second billing, 60 s minimum), peak instances,",
            "time back to zero. Writes an SVG timeline. Same seed, same numbers."})
final class SimulateCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Option(names = "--trace", required = true, paramLabel = "TRACE", description = "burst:N, steady:RATE:SECONDS, or a CSV file of arrival times.")
    String trace;

    @Option(names = "--policy", defaultValue = "all", paramLabel = "NAME",
            description = "backlog (ours), queue-length, idle-timeout, target-tracking, or all (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--boot", defaultValue = "25s", paramLabel = "DURATION", description = "Mean boot time (default: ${DEFAULT-VALUE}).")
    String boot;

    @Option(names = "--service", defaultValue = "0.3s", paramLabel = "DURATION", description = "Mean time per image (default: ${DEFAULT-VALUE}).")
    String service;

    @Option(names = "--max", defaultValue = "19", paramLabel = "N", description = "Instance cap (default: ${DEFAULT-VALUE}).")
    int max;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "N", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--price", defaultValue = "0.0832", paramLabel = "USD", description = "Hourly instance price in USD (default: ${DEFAULT-VALUE}, a t3.large on demand in us-east-1).")
    double price;

    @Option(names = "--request-cost", defaultValue = "0.95", paramLabel = "USD",
            description = {"S3 and SQS requests per million images, added to the cost (default: ${DEFAULT-VALUE}, measured for local files:",
                "upload in shards with --wait, worker, results, at us-east-1 list prices; see docs/data-plane.md). 0 leaves requests out."})
    double requestCost;

    @Option(names = "--interrupt", defaultValue = "0", paramLabel = "RATE",
            description = "Spot interruptions per instance-hour, at random (seeded), each announced two minutes ahead (default: ${DEFAULT-VALUE}, none).")
    double interrupt;

    @Option(names = "--on-notice", defaultValue = "stop", paramLabel = "WHAT",
            description = "With --interrupt, what workers do with the notice: stop (stop receiving, finish what fits, hand back the rest),"
                    + " fit (the same, but keep receiving batches that fit), ignore (die holding their batch) (default: ${DEFAULT-VALUE}).")
    String onNotice;

    @Option(names = "--svg", defaultValue = "simulate.svg", paramLabel = "FILE", description = "Where to write the timeline (default: ${DEFAULT-VALUE}).")
    Path svg;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = context.out();
        Trace t = Trace.parse(trace);
        if (!(requestCost >= 0)) {
            throw new ImgscaleException("--request-cost must be 0 or more (USD per million images).");
        }
        Interruptions interruptions = new Interruptions(interrupt, Interruptions.EC2_NOTICE, Interruptions.Response.parse(onNotice));
        Simulator.Settings settings = new Simulator.Settings(duration(boot, "--boot"), duration(service, "--service"), max, price,
                Duration.ofSeconds(60), seed, Duration.ofSeconds(2), interruptions).withRequestCost(requestCost / 1_000_000);
        out.printf(Locale.ROOT, "trace %s; boot %s, service %s per image, cap %d, $%.4f/h, requests $%.2f per million images, seed %d%n", t,
                boot, service, max, price, requestCost, seed);
        if (interruptions.enabled()) {
            out.printf(Locale.ROOT, "interruptions: %s per instance-hour, %d s notice, workers %s; visibility timeout %d s%n", interrupt,
                    Interruptions.EC2_NOTICE.toSeconds(), switch (interruptions.response()) {
                        case STOP -> "stop receiving at the notice";
                        case FIT -> "keep receiving what fits";
                        case IGNORE -> "ignore the notice";
                    }, settings.visibilityTimeout().toSeconds());
        }
        out.println(SimulationResult.header(interruptions.enabled()));
        List<SimulationResult> results = new ArrayList<>();
        for (String name : Policies.names(policy)) {
            SimulationResult r = new Simulator(settings).run(t, Policies.create(name));
            results.add(r);
            out.println(r.row());
            out.flush();
        }
        Files.writeString(svg, TimelineSvg.render("imgscale simulate --trace " + trace, results), StandardCharsets.UTF_8);
        out.println("timeline: " + svg);
        out.flush();
        return ExitCodes.OK;
    }

    /** "25s", "300ms", "2m", or plain seconds. */
    static Duration duration(String text, String option) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofNanos((long) (Double.parseDouble(s.substring(0, s.length() - 2)) * 1e6));
            }
            if (s.endsWith("s")) {
                return Duration.ofNanos((long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 1e9));
            }
            if (s.endsWith("m")) {
                return Duration.ofNanos((long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 60e9));
            }
            return Duration.ofNanos((long) (Double.parseDouble(s) * 1e9));
        } catch (NumberFormatException e) {
            throw new ImgscaleException(option + " takes a duration like 25s, 300ms or 2m, not '" + text + "'.");
        }
    }
}
