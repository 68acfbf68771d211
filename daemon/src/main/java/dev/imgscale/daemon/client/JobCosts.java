package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.cost.InstancePrices;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.WorkerUsage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the workers' usage records for a job's cost. The records' keys start with the worker's
 * start time, so a listing names which can have overlapped a window: those that started before
 * it ended and at most {@link #LONGEST_WORKER} before it began (workers exit when idle; one older
 * than that is not counted). One listing and a GET per worker that may have served the job.
 */
@ThreadSafe
final class JobCosts {
    private static final Logger LOG = LoggerFactory.getLogger(JobCosts.class);
    static final Duration LONGEST_WORKER = Duration.ofDays(7);

    private final ObjectStore output;

    JobCosts(ObjectStore output) {
        this.output = output;
    }

    JobCost cost(String job, long from, long to, RequestCounts uploadRequests, InstancePrices prices, RequestPrices requestPrices) {
        List<WorkerUsage> usages = new ArrayList<>();
        for (String key : output.list(WorkerUsage.PREFIX)) {
            long started = WorkerUsage.startedAt(key);
            if (started < 0 || started > to || started < from - LONGEST_WORKER.toMillis()) {
                continue;
            }
            try {
                output.get(key).map(b -> Json.read(b, WorkerUsage.class)).ifPresent(usages::add);
            } catch (Json.MalformedRecordException e) {
                LOG.warn("Skipping {}: {}", key, e.getMessage());
            }
        }
        return JobCost.compute(job, from, to, usages, uploadRequests, prices, requestPrices);
    }
}
