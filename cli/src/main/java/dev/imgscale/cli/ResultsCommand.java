package dev.imgscale.cli;

import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.stack.StackContext;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code imgscale results}: a job's results, read from the output bucket. Reading never consumes
 * a result, so any number of readers see the same ones.
 */
@Command(name = "results", mixinStandardHelpOptions = true,
        description = {"Print a job's results (default: the last job uploaded from this machine), one row per image, as they are read.",
            "With --follow, print them as they arrive and exit when every image has one."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every image labelled", "1:failure", "2:usage error", "3:every image has a result but some failed",
            "4:not every image has a result yet (or --timeout ran out)"})
final class ResultsCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Mixin
    OutputMixin output;

    @Mixin
    CostOptions cost;

    @Option(names = "--job", paramLabel = "ID", description = "The job (default: the last one uploaded from this machine).")
    String job;

    @Option(names = {"-f", "--follow"}, description = "Print results as they arrive, until every image has one.")
    boolean follow;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "With --follow: give up after this long (exit 4).")
    Long timeout;

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        try (StackContext stack = stackOptions.open(context.env())) {
            JobClient client = new JobClient(stack, Clock.systemUTC());
            String id = LastJob.resolve(job, context.env(), stack);
            ResultWriter writer = new ResultWriter(out, output.format());
            if (follow) {
                cost.check();
                return follow(client, id, writer, err, timeout, cost, output.format());
            }
            JobManifest manifest = client.requireManifest(id);
            // rows are printed as each object is read, never all held: one row per image name
            writer.buffered();
            JobProgress read = client.readAll(manifest, writer::write, writer::flush);
            writer.finish();
            return summarise(err, read);
        }
    }

    /** Follows a job to its end (shared with `upload --wait`); Ctrl-C stops it cleanly. */
    static int follow(JobClient client, String job, ResultWriter writer, PrintWriter err, Long timeoutSeconds, CostOptions cost,
                      OutputFormat format) {
        AtomicBoolean stop = new AtomicBoolean();
        Thread hook = new Thread(() -> stop.set(true), "imgscale-follow-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            JobProgress outcome = client.follow(job, writer::write, Duration.ofSeconds(1),
                    timeoutSeconds == null ? null : Duration.ofSeconds(timeoutSeconds), stop::get);
            writer.finish();
            if (!stop.get()) {
                cost.printAfterFollow(client, outcome, err, format);
            }
            return summarise(err, outcome);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting
            }
        }
    }

    private static int summarise(PrintWriter err, JobProgress p) {
        String job = p.job();
        int total = p.total();
        int done = p.done();
        int failed = p.failed();
        if (p.open()) {
            err.printf("imgscale: job %s is still being uploaded: %d images have results so far (%d failed)%n", job, done, failed);
            err.flush();
            return ExitCodes.INCOMPLETE;
        }
        if (done < total) {
            err.printf("imgscale: job %s: %d of %d images have results so far (%d failed)%n", job, done, total, failed);
            err.flush();
            return ExitCodes.INCOMPLETE;
        }
        if (failed > 0) {
            err.printf("imgscale: job %s: %d images, %d failed%n", job, total, failed);
            err.flush();
            return ExitCodes.PARTIAL;
        }
        return ExitCodes.OK;
    }
}
