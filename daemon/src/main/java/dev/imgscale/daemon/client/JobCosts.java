package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.cost.InstancePrices;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.WorkerUsage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the workers' usage records for jobs' costs. The records' keys start with the worker's
 * start time, so a listing names which can have served a job: those that started before now and
 * at most {@link #LONGEST_WORKER} before the oldest job asked about (workers exit when idle; one
 * older than that is not counted). One listing and a GET per such worker, however many jobs.
 */
@ThreadSafe
final class JobCosts {
    private static final Logger LOG = LoggerFactory.getLogger(JobCosts.class);
    static final Duration LONGEST_WORKER = Duration.ofDays(7);

    private final ObjectStore output;
    private final Clock clock;

    JobCosts(ObjectStore output, Clock clock) {
        this.output = output;
        this.clock = clock;
    }

    /**
     * Each job's cost from its creation to its last result as the workers recorded it (or to now
     * while it runs), in the order asked.
     */
    Map<String, JobCost> costs(List<JobCost.Query> jobs, RequestCounts uploadRequests, InstancePrices prices, RequestPrices requestPrices) {
        Map<String, JobCost> out = new LinkedHashMap<>();
        if (jobs.isEmpty()) {
            return out;
        }
        long now = clock.millis();
        long oldest = jobs.stream().mapToLong(JobCost.Query::createdAt).min().orElse(now);
        List<WorkerUsage> usages = read(oldest - LONGEST_WORKER.toMillis(), now);
        for (JobCost.Query j : jobs) {
            long to = j.complete() ? JobCost.lastResultAt(j.job(), usages).orElse(now) : now;
            out.put(j.job(), JobCost.compute(j.job(), j.createdAt(), Math.max(j.createdAt(), to), usages, uploadRequests, prices,
                    requestPrices));
        }
        return out;
    }

    private List<WorkerUsage> read(long startedAfter, long startedBefore) {
        List<WorkerUsage> usages = new ArrayList<>();
        for (String key : output.list(WorkerUsage.PREFIX)) {
            long started = WorkerUsage.startedAt(key);
            if (started < 0 || started > startedBefore || started < startedAfter) {
                continue;
            }
            try {
                output.get(key).map(b -> Json.read(b, WorkerUsage.class)).ifPresent(usages::add);
            } catch (Json.MalformedRecordException e) {
                LOG.warn("Skipping {}: {}", key, e.getMessage());
            }
        }
        return usages;
    }
}
