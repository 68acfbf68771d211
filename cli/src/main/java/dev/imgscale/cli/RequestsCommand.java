package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.cost.RequestCostReport;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLog;
import dev.imgscale.daemon.cost.RequestPrices;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code imgscale requests DIR}: totals the AWS requests that imgscale processes run with
 * {@code IMGSCALE_REQUEST_LOG=DIR} have sent, by operation, and what they cost at list prices.
 */
@Command(name = "requests", mixinStandardHelpOptions = true,
        description = {"Total the AWS requests that imgscale processes run with " + RequestLog.ENV + "=DIR sent (counted by the SDK as they",
            "were sent), by operation, per image and in USD per million images at list prices."})
final class RequestsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", description = "The folder the processes wrote their counts to.")
    Path dir;

    @Option(names = "--images", defaultValue = "0", paramLabel = "N", description = "How many images the requests were for (per-image figures).")
    long images;

    @Option(names = "--prices", defaultValue = "", paramLabel = "SPEC",
            description = "Other prices than us-east-1's list prices, e.g. s3-put=0.0055,s3-get=0.00044,sqs=0.50 (USD per 1,000; SQS per million).")
    String prices;

    @Option(names = "--json", description = "One JSON object instead of the table.")
    boolean json;

    @Override
    public Integer call() {
        if (!Files.isDirectory(dir)) {
            throw new ImgscaleException("No such folder: " + dir + ". Run imgscale commands with " + RequestLog.ENV + "=" + dir + " first.");
        }
        if (images < 0) {
            throw new ImgscaleException("--images must be 0 or more.");
        }
        RequestPrices table = CostOptions.requestPrices(prices);
        RequestCounts counts;
        try {
            counts = RequestLog.total(dir);
        } catch (IllegalArgumentException e) {
            throw new ImgscaleException(e.getMessage(), e);
        }
        RequestCostReport report = new RequestCostReport(counts, table, images);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(report.toJson());
        } else {
            out.print(report.table());
            out.println(report.oneLine());
        }
        out.flush();
        return ExitCodes.OK;
    }
}
