package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.UploadReport;
import dev.imgscale.daemon.stack.StackContext;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code imgscale upload}: images into the input bucket as a job, one request message each. */
@Command(name = "upload", mixinStandardHelpOptions = true,
        description = {"Upload images as a job: each goes to the input bucket with one request message; prints the job id.",
            "PATH is a file, a folder (recursive), a glob ('shots/*.jpg'), or - for a list of paths on standard input.",
            "With --wait, the results follow as with `results --follow` (the job id then goes to stderr)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every image uploaded (and, with --wait, labelled)", "1:failure", "2:usage error",
            "3:some images could not be uploaded (listed on stderr) or, with --wait, failed"})
final class UploadCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Mixin
    OutputMixin output;

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "8", description = "Parallel uploads (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--wait", description = "Then print the results as they arrive, until every image has one.")
    boolean await;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "With --wait: give up after this long (exit 4).")
    Long timeout;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Files, folders, globs, or - for paths on standard input.")
    List<String> paths;

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        if (concurrency < 1 || concurrency > 256) {
            throw new ImgscaleException("--concurrency must be between 1 and 256.");
        }
        UploadSources.Expanded expanded = UploadSources.expand(paths,
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
        for (var skipped : expanded.skipped()) {
            err.println("imgscale: warning: skipping " + skipped + ": not an image");
        }
        err.flush();
        if (expanded.items().isEmpty()) {
            throw new ImgscaleException("No images to upload in " + paths + ".");
        }
        try (StackContext stack = stackOptions.open(context.env())) {
            JobClient client = new JobClient(stack, Clock.systemUTC());
            UploadReport report = client.upload(expanded.items(), concurrency, new UploadProgress(err, System.console() != null));
            for (UploadReport.Failure f : report.failures()) {
                err.println("imgscale: could not upload " + f.file() + ": " + f.reason());
            }
            if (report.queued().isEmpty()) {
                throw new ImgscaleException("No image could be uploaded to " + stack.config().names().inputBucket() + "; nothing was queued.");
            }
            LastJob.record(context.env(), stack, report.job());
            (await ? err : out).println(report.job());
            err.printf("imgscale: job %s: %d image(s) queued in %.1f s%s%n", report.job(), report.queued().size(), report.millis() / 1000.0,
                    report.failures().isEmpty() ? "" : ", " + report.failures().size() + " could not be uploaded");
            out.flush();
            err.flush();
            int code = report.failures().isEmpty() ? ExitCodes.OK : ExitCodes.PARTIAL;
            if (!await) {
                return code;
            }
            int followed = ResultsCommand.follow(client, report.job(), new ResultWriter(out, output.format()), err, timeout);
            return Math.max(code, followed);
        }
    }
}
