package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobCost;
import dev.imgscale.daemon.cost.InstancePrices;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestPrices;
import picocli.CommandLine.Option;

/**
 * The prices a job's cost is computed at, for the commands that print it ({@code status},
 * {@code results --follow}, {@code upload --wait}); see {@link JobCost} for what is counted.
 */
public final class CostOptions {
    @Option(names = "--instance-prices", defaultValue = "", paramLabel = "SPEC",
            description = "Instance prices other than the us-east-1 On-Demand list, USD an hour, e.g. c7i.large=0.0943,"
                    + "c7i.large:spot=0.031,spot=0.35 (Spot as a share of On-Demand where no Spot price is given; default 0.35).")
    String instancePrices;

    @Option(names = "--request-prices", defaultValue = "", paramLabel = "SPEC",
            description = "Request prices other than us-east-1's list, e.g. s3-put=0.0055,s3-get=0.00044,sqs=0.50 (USD per 1,000; SQS per million).")
    String requestPrices;

    /** Fails now, in one sentence, on prices it cannot read: not after a job has been followed to its end. */
    void check() {
        cost(null, null, 0, 0);
    }

    /** The job's cost over {@code [from, to]} (epoch millis); with no client, only checks the prices. */
    JobCost cost(JobClient client, String job, long from, long to) {
        InstancePrices instances;
        RequestPrices requests;
        try {
            instances = InstancePrices.parse(instancePrices);
            requests = RequestPrices.parse(requestPrices);
        } catch (IllegalArgumentException e) {
            throw new ImgscaleException("Cannot read the prices: " + e.getMessage() + ".");
        }
        return client == null ? null : client.cost(job, from, Math.max(from, to), RequestCounts.EMPTY, instances, requests);
    }
}
