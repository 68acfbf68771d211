package dev.imgscale.daemon.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.cost.InstancePrices;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.wire.WorkerUsage;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A job's cost from usage records: the arithmetic of {@link JobCost}, checked by hand. */
class JobCostTest {
    static final long T0 = 1_800_000_000_000L;

    static WorkerUsage usage(String id, String type, String market, long startSec, long endSec, Map<String, WorkerUsage.JobShare> jobs,
                             Map<String, Long> requests) {
        long images = jobs.values().stream().mapToLong(WorkerUsage.JobShare::images).sum();
        long busy = jobs.values().stream().mapToLong(WorkerUsage.JobShare::busyMs).sum();
        return new WorkerUsage(1, id, type, market, T0 + startSec * 1000, T0 + endSec * 1000, images, busy, jobs, requests);
    }

    @Test
    void should_price_each_worker_by_its_type_and_market_over_the_window() {
        // job J ran from 0 to 3600 s: one On-Demand c7i.large all hour, one Spot c7i.large for its second half
        WorkerUsage onDemand = usage("i-1", "c7i.large", "on-demand", -60, 3700,
                Map.of("J", new WorkerUsage.JobShare(9000, 1_800_000, T0, T0)), Map.of("S3:GetObject", 900L, "SQS:ReceiveMessage", 900L));
        WorkerUsage spot = usage("i-2", "c7i.large", "spot", 1800, 3600,
                Map.of("J", new WorkerUsage.JobShare(3000, 900_000, T0, T0)), Map.of("S3:PutObject", 30L));

        JobCost cost = JobCost.compute("J", T0, T0 + 3_600_000, List.of(onDemand, spot), RequestCounts.EMPTY,
                InstancePrices.US_EAST_1, RequestPrices.US_EAST_1);

        assertEquals(12_000, cost.images());
        assertEquals(2, cost.workers());
        assertEquals(2700.0, cost.workerSeconds(), 1e-9);
        assertEquals(3600.0 + 1800.0, cost.instanceSeconds(), 1e-9, "only the part of each life inside the window");
        assertEquals(0.5, cost.share(), 1e-9);
        assertEquals(0.08925 + 0.5 * 0.08925 * InstancePrices.DEFAULT_SPOT_FACTOR, cost.computeUsd(), 1e-9);
        assertTrue(cost.estimated(), "no Spot price was given");
        assertEquals(1830, cost.requests().total());
        assertEquals(900 * 0.0004 / 1000 + 900 * 0.40 / 1e6 + 30 * 0.005 / 1000, cost.requestUsd(), 1e-12);
        assertEquals(cost.totalUsd() / 12_000 * 1e6, cost.usdPerMillionImages(), 1e-9);
    }

    @Test
    void should_give_a_job_only_its_share_of_a_worker_and_of_its_requests() {
        WorkerUsage both = usage("i-1", "c7i.large", "on-demand", 0, 3600,
                Map.of("J", new WorkerUsage.JobShare(100, 600_000, T0, T0), "K", new WorkerUsage.JobShare(300, 1_800_000, T0, T0)),
                Map.of("S3:GetObject", 400L));

        JobCost cost = JobCost.compute("J", T0, T0 + 3_600_000, List.of(both), RequestCounts.EMPTY,
                InstancePrices.parse("c7i.large=0.1"), RequestPrices.US_EAST_1);

        assertEquals(0.1 * 0.25, cost.computeUsd(), 1e-12, "a quarter of the worker's busy time was J's");
        assertEquals(100, cost.requests().get("S3", "GetObject"), "a quarter of its images were J's");
        assertFalse(cost.estimated());
    }

    @Test
    void should_add_the_uploads_requests_and_name_types_without_a_price() {
        WorkerUsage odd = usage("i-9", "x9z.huge", "on-demand", 0, 10, Map.of("J", new WorkerUsage.JobShare(10, 5000, T0, T0)), Map.of());
        RequestCounts upload = RequestCounts.builder().add("S3", "PutObject", 2).add("SQS", "SendMessageBatch", 1).build();

        JobCost cost = JobCost.compute("J", T0, T0 + 10_000, List.of(odd), upload, InstancePrices.US_EAST_1, RequestPrices.US_EAST_1);

        assertEquals(Set.of("x9z.huge"), cost.unpriced());
        assertEquals(0, cost.computeUsd());
        assertEquals(3, cost.requests().total());
        assertTrue(cost.text().contains("no price for x9z.huge"), cost.text());
        assertEquals(0.5, cost.toJson().get("share").asDouble());
    }

    @Test
    void should_end_a_finished_jobs_window_at_its_last_batch() {
        WorkerUsage a = usage("i-1", "c7i.large", "on-demand", 0, 600, Map.of("J", new WorkerUsage.JobShare(10, 5000, T0 + 1000, T0 + 90_000)),
                Map.of());
        WorkerUsage b = usage("i-2", "c7i.large", "on-demand", 0, 600, Map.of("J", new WorkerUsage.JobShare(10, 5000, T0 + 2000, T0 + 120_000),
                "K", new WorkerUsage.JobShare(1, 100, T0 + 500_000, T0 + 500_000)), Map.of());
        assertEquals(T0 + 120_000, JobCost.lastResultAt("J", List.of(a, b)).getAsLong());
        assertTrue(JobCost.lastResultAt("L", List.of(a, b)).isEmpty());
    }

    @Test
    void should_count_local_processes_as_free_and_skip_workers_that_never_served_the_job() {
        WorkerUsage local = usage("local-1", "local", "local", 0, 20, Map.of("J", new WorkerUsage.JobShare(14, 7000, T0, T0)), Map.of());
        WorkerUsage other = usage("local-2", "local", "local", 0, 20, Map.of("K", new WorkerUsage.JobShare(5, 1000, T0, T0)), Map.of());

        JobCost cost = JobCost.compute("J", T0, T0 + 20_000, List.of(local, other), RequestCounts.EMPTY,
                InstancePrices.US_EAST_1, RequestPrices.US_EAST_1);

        assertEquals(1, cost.workers());
        assertEquals(20.0, cost.instanceSeconds(), 1e-9);
        assertEquals(0.0, cost.computeUsd());
        assertTrue(cost.text().startsWith("cost: 14 images on 1 worker; 7.0 worker-seconds of 20.0 instance-seconds while it ran (35 %)"),
                cost.text());
    }
}
