package dev.imgscale.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobCost;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.JobManifest;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imgscale status}: queue depths, recent jobs' progress, and the fleet. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the queues (visible, in flight, dead-letter), recent jobs' progress, and the fleet when a controller publishes it.")
final class StatusCommand implements Callable<Integer> {
    /** Where a controller publishes the fleet's state in the output bucket. */
    static final String FLEET_KEY = "fleet/state.json";

    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Mixin
    OutputMixin output;

    @Mixin
    CostOptions cost;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "5", description = "How many recent jobs to show (default: ${DEFAULT-VALUE}).")
    int jobs;

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        cost.check();
        try (StackContext stack = stackOptions.open(context.env())) {
            JobClient client = new JobClient(stack, Clock.systemUTC());
            // SQS beside S3: the queue depths (six round trips, and the SQS client's start) overlap
            // the jobs' reads instead of coming before them
            CompletableFuture<JobClient.QueueStatus> depths = CompletableFuture.supplyAsync(client::queues);
            List<JobRow> progress = new ArrayList<>();
            for (String job : client.recentJobs(jobs)) {
                try {
                    JobManifest manifest = client.requireManifest(job);
                    progress.add(new JobRow(client.progress(manifest), manifest.createdAt()));
                } catch (RuntimeException e) {
                    // a job being reset while we look: skip it
                }
            }
            Map<String, JobCost> costs = cost.costs(client, progress.stream()
                    .map(r -> new JobCost.Query(r.progress().job(), r.createdAt(), r.progress().complete())).toList());
            Optional<byte[]> fleet = stack.output().get(FLEET_KEY);
            JobClient.QueueStatus queues = join(depths);
            if (output.format() == OutputFormat.json) {
                ObjectMapper json = new ObjectMapper();
                ObjectNode root = json.createObjectNode();
                root.put("stack", stack.config().names().stack());
                root.put("local", stack.config().local());
                ObjectNode q = root.putObject("queues");
                depth(q.putObject("requests"), queues.requests());
                depth(q.putObject("deadLetters"), queues.deadLetters());
                depth(q.putObject("results"), queues.results());
                ArrayNode js = root.putArray("jobs");
                for (JobRow row : progress) {
                    JobProgress p = row.progress();
                    js.addObject().put("job", p.job()).put("createdAt", Instant.ofEpochMilli(row.createdAt()).toString())
                            .put("total", p.total()).put("done", p.done()).put("failed", p.failed())
                            .put("exact", p.exact()).put("complete", p.complete())
                            .set("cost", costs.get(p.job()).toJson());
                }
                if (fleet.isPresent()) {
                    try {
                        root.set("fleet", json.readTree(fleet.get()));
                    } catch (java.io.IOException e) {
                        root.put("fleet", "unreadable");
                    }
                }
                out.println(root.toString());
            } else {
                out.printf(Locale.ROOT, "stack %s (%s)%n", stack.config().names().stack(), stack.config().local() ? "local" : "AWS");
                out.printf(Locale.ROOT, "  requests      %6d visible %6d in flight%n", queues.requests().visible(), queues.requests().inFlight());
                out.printf(Locale.ROOT, "  dead-letter   %6d visible%n", queues.deadLetters().visible());
                out.printf(Locale.ROOT, "  results       %6d events not yet read%n", queues.results().visible());
                out.println(progress.isEmpty() ? "jobs: none" : "jobs (newest first):");
                for (JobRow row : progress) {
                    JobProgress p = row.progress();
                    out.println("  " + jobLine(p));
                    JobCost c = costs.get(p.job());
                    if (c.workers() > 0) {
                        // indented under its job; a job no worker has reported on yet has no line
                        for (String line : c.text().split("\n")) {
                            out.println("      " + line.strip());
                        }
                    }
                }
                out.println(fleet.map(b -> "fleet: " + new String(b, StandardCharsets.UTF_8).strip())
                        .orElse("fleet: no controller has published its state"));
                fleet.ifPresent(b -> printLaunches(out, b));
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    /**
     * The controller's recent launches (the fleet state's {@code launches}), one line each, newest
     * last: what Spot gave, what On-Demand made up, and EC2's word on the pools. Nothing when there
     * are none, or the state predates them.
     */
    static void printLaunches(PrintWriter out, byte[] fleetState) {
        JsonNode launches;
        try {
            launches = new ObjectMapper().readTree(fleetState).path("launches");
        } catch (java.io.IOException e) {
            return; // the fleet line above shows it as it is
        }
        if (!launches.isArray() || launches.isEmpty()) {
            return;
        }
        out.println("launches (newest last):");
        for (JsonNode l : launches) {
            int asked = l.path("requested").asInt();
            int spot = l.path("spot").asInt();
            int onDemand = l.path("onDemand").asInt();
            String got = spot + onDemand == 0 ? "none launched" : spot + " Spot, " + onDemand + " On-Demand";
            String note = l.path("note").asText("");
            out.printf(Locale.ROOT, "  %-24s asked %3d: %s%s%s%n", l.path("at").asText(""), asked, got,
                    l.path("fellBack").asBoolean() ? " (fell back to On-Demand)" : "", note.isEmpty() ? "" : "; " + note);
        }
    }

    /**
     * One job's line: {@code done/total}, "uploading" while its manifest is open (the total is not
     * known yet, never complete), "about" when a redelivery may have counted an image twice and no
     * reader has stored the exact counts yet ({@code results} does, once the job is finished).
     */
    static String jobLine(JobProgress p) {
        String about = p.exact() ? "" : "about ";
        if (p.open()) {
            return String.format(Locale.ROOT, "%-24s %s%5d/?     done %5d failed  uploading", p.job(), about, p.done(), p.failed());
        }
        String end = p.complete() ? "  complete" : !p.exact() && p.done() >= p.total() && p.total() > 0 ? "  (run `imgscale results` for exact counts)" : "";
        return String.format(Locale.ROOT, "%-24s %s%5d/%-5d done %5d failed%s", p.job(), about, p.done(), p.total(), p.failed(), end);
    }

    /** The value, or the exception the work threw (an SDK or imgscale error, as if called here). */
    private static <T> T join(CompletableFuture<T> work) {
        try {
            return work.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** A recent job's progress, and when the job was created. */
    private record JobRow(JobProgress progress, long createdAt) {
    }

    private static void depth(ObjectNode node, QueueDepth d) {
        node.put("visible", d.visible()).put("inFlight", d.inFlight()).put("delayed", d.delayed());
    }
}
