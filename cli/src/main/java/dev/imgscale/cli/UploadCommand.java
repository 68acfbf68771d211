package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.InPlaceUpload;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.UploadReport;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.S3Url;
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
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/** {@code imgscale upload}: images into the input bucket as a job, one request message each. */
@Command(name = "upload", mixinStandardHelpOptions = true,
        description = {"Upload images as a job: packed into tar shards in the input bucket, one request message each; prints the job id.",
            "PATH is a file, a folder (recursive), a glob ('shots/*.jpg'), or - for a list of paths on standard input.",
            "s3://BUCKET/PREFIX/ or --manifest classifies images already in S3 where they are: nothing is copied.",
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

    @Mixin
    CostOptions cost;

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "8", description = "Shards written in parallel, capped at 4 (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--wait", description = "Then print the results as they arrive, until every image has one.")
    boolean await;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "With --wait: give up after this long (exit 4).")
    Long timeout;

    @Option(names = "--manifest", paramLabel = "FILE",
            description = "Images in S3 named by a file or s3:// object: one key or s3:// URL per line, or a CSV with such a column.")
    String manifest;

    @Option(names = "--bucket", paramLabel = "BUCKET", description = "With --manifest: the bucket of keys given without one.")
    String bucket;

    @Parameters(arity = "0..*", paramLabel = "PATH",
            description = "Files, folders, globs, - for paths on standard input, or one s3://BUCKET/PREFIX/ (images in place).")
    List<String> paths;

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        if (concurrency < 1 || concurrency > 256) {
            throw new ImgscaleException("--concurrency must be between 1 and 256.");
        }
        cost.check(); // bad prices fail now, not after the job
        if (manifest != null || (paths != null && paths.stream().anyMatch(S3Url::isS3Url))) {
            return inPlace(out, err);
        }
        if (paths == null || paths.isEmpty()) {
            throw new ParameterException(context.commandLine(), "Missing required parameter: 'PATH' (or --manifest FILE)");
        }
        try (StackContext stack = stackOptions.open(context.env());
             UploadSources sources = new UploadSources(paths, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)),
                     skipped -> err.println("imgscale: warning: skipping " + skipped + ": not an image"))) {
            JobClient client = new JobClient(stack, Clock.systemUTC());
            UploadReport report = client.upload(sources, concurrency, new UploadProgress(err, System.console() != null));
            for (UploadReport.Failure f : report.failures()) {
                err.println("imgscale: could not upload " + f.file() + ": " + f.reason());
            }
            if (report.queued() == 0) {
                throw new ImgscaleException("No image could be uploaded to " + stack.config().names().inputBucket() + "; nothing was queued.");
            }
            return finish(stack, client, report, out, err);
        }
    }

    /** Records the job, prints its id and, with --wait, follows its results. */
    private int finish(StackContext stack, JobClient client, UploadReport report, PrintWriter out, PrintWriter err) {
        LastJob.record(context.env(), stack, report.job());
        (await ? err : out).println(report.job());
        err.printf("imgscale: job %s: %d image(s) queued in %.1f s%s%n", report.job(), report.queued(), report.millis() / 1000.0,
                report.failures().isEmpty() ? "" : ", " + report.failures().size() + " could not be uploaded");
        out.flush();
        err.flush();
        int code = report.failures().isEmpty() ? ExitCodes.OK : ExitCodes.PARTIAL;
        if (!await) {
            return code;
        }
        int followed = ResultsCommand.follow(client, report.job(), new ResultWriter(out, output.format()), err, timeout, cost,
                output.format());
        return Math.max(code, followed);
    }

    /** Images already in S3: one request each naming the object where it is. */
    private int inPlace(PrintWriter out, PrintWriter err) {
        if (manifest != null ? paths != null && !paths.isEmpty() : paths.size() != 1) {
            throw new ParameterException(context.commandLine(),
                    "Give one s3://BUCKET/PREFIX/ or --manifest FILE, not with other paths (upload local files in another job).");
        }
        if (bucket != null && manifest == null) {
            throw new ParameterException(context.commandLine(), "--bucket goes with --manifest.");
        }
        S3Url url = null;
        if (manifest == null) {
            try {
                url = S3Url.parse(paths.get(0));
            } catch (IllegalArgumentException e) {
                throw new ImgscaleException(e.getMessage(), e);
            }
        }
        try (StackContext stack = stackOptions.open(context.env())) {
            InPlaceUpload upload = new InPlaceUpload(stack, Clock.systemUTC());
            UploadProgress progress = new UploadProgress(err, System.console() != null);
            UploadReport report = url != null ? upload.prefix(url, progress) : upload.manifest(manifest, bucket, progress);
            return finish(stack, new JobClient(stack, Clock.systemUTC()), report, out, err);
        }
    }
}
