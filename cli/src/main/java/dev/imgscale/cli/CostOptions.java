package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobCost;
import dev.imgscale.daemon.cost.InstancePrices;
import dev.imgscale.daemon.cost.RequestPrices;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.daemon.client.JobProgress;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
        instancePrices();
        requestPrices();
    }

    /** The jobs' costs (see {@link JobClient#costs}), by job id in the order asked. */
    Map<String, JobCost> costs(JobClient client, List<JobCost.Query> jobs) {
        return client.costs(jobs, instancePrices(), requestPrices());
    }

    private InstancePrices instancePrices() {
        try {
            return InstancePrices.parse(instancePrices);
        } catch (IllegalArgumentException e) {
            throw new ImgscaleException("Cannot read --instance-prices: " + e.getMessage() + ".");
        }
    }

    private RequestPrices requestPrices() {
        return requestPrices(requestPrices);
    }

    /**
     * Request prices in {@link RequestPrices#parse}'s syntax, for {@code --request-prices} here and
     * {@code requests --prices}; a spec it cannot read fails with the parser's sentence, which names the price.
     */
    static RequestPrices requestPrices(String spec) {
        try {
            return RequestPrices.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new ImgscaleException(e.getMessage(), e);
        }
    }

    /** How long the end of a followed job waits for the workers' usage records to cover its last images. */
    static final Duration RECORDS_CATCH_UP = Duration.ofSeconds(12);

    /**
     * At the end of {@code results --follow} or {@code upload --wait}: the job's cost on stderr (a
     * JSON line with {@code --output json}; stdout carries the rows). Workers rewrite their usage
     * records every few seconds while busy, so a job that just finished waits for them to count
     * its last images, at most {@link #RECORDS_CATCH_UP}. Nothing when no worker keeps a record
     * (a worker started by hand, without a worker id) or none has served the job.
     */
    void printAfterFollow(JobClient client, JobProgress p, PrintWriter err, OutputFormat format) {
        long createdAt = client.requireManifest(p.job()).createdAt();
        List<JobCost.Query> query = List.of(new JobCost.Query(p.job(), createdAt, p.complete()));
        long deadline = System.nanoTime() + RECORDS_CATCH_UP.toNanos();
        JobCost c = costs(client, query).get(p.job());
        while (c.recorders() > 0 && p.complete() && c.images() < p.done() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            c = costs(client, query).get(p.job());
        }
        if (c.workers() == 0) {
            return;
        }
        boolean partial = c.images() < p.done();
        if (format == OutputFormat.json) {
            ObjectNode line = new ObjectMapper().createObjectNode().put("job", p.job());
            line.set("cost", c.toJson().put("partial", partial));
            err.println(line);
        } else {
            for (String l : c.text().split("\n")) {
                err.println("imgscale: " + l.strip());
            }
            if (partial) {
                err.println("imgscale: (the workers have recorded " + c.images() + " of its " + p.done()
                        + " images so far; `imgscale status` shows the whole cost once they have)");
            }
        }
        err.flush();
    }
}
