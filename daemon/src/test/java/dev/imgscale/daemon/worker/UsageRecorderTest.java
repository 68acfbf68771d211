package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.testing.FakeClassifier;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryWorkQueue;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.WorkerUsage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The worker's usage record, in fake time: images and busy time per job as the batches are
 * delivered, written at start, every minute and at the end, and read back as a job's cost sees it.
 */
@Timeout(60)
class UsageRecorderTest extends WorkerFakeTimeFixture {
    final InMemoryWorkQueue requests = new InMemoryWorkQueue("requests", time);

    void upload(String job, int n) {
        output.put(Keys.manifest(job), Json.bytes(JobManifest.v1(job, time.millis(), "test", List.of())), "application/json");
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            input.put(Keys.input(job, "img" + i + ".jpg"), FakeClassifier.image("label-" + i), "image/jpeg");
            bodies.add(Json.write(ImageRequest.of(job, "img" + i + ".jpg", time.millis())));
        }
        requests.send(bodies);
    }

    WorkerUsage stored() {
        List<String> keys = output.list(WorkerUsage.PREFIX);
        assertEquals(1, keys.size(), keys.toString());
        return Json.read(output.get(keys.get(0)).orElseThrow(), WorkerUsage.class);
    }

    @Test
    void should_record_each_jobs_images_and_busy_time_and_keep_the_record_after_the_worker_stops() throws Exception {
        classifier.inferenceTakes(Duration.ofSeconds(2));
        Worker worker = new Worker(classifier, requests, results, input, output, time,
                new WorkerOptions(10, Duration.ofSeconds(1), Duration.ofSeconds(30), 4, null, "w-1", "fake-model"), 2);
        RequestLedger ledger = RequestLedger.standalone();
        ledger.record("S3", "GetObject");
        UsageRecorder recorder = new UsageRecorder(worker, output, "w-1", new InstanceFacts("c7i.large", "spot"), ledger, time);
        recorder.start();
        assertEquals(0, stored().images(), "a record from the start: the worker was alive");
        run(worker);
        time.awaitSleepers(1);

        upload("20260101-000000-aaaaaa", 10);
        upload("20260101-000000-bbbbbb", 5);
        for (int i = 0; i < 60 && worker.processed() < 15; i++) {
            time.advance(Duration.ofSeconds(1));
            FakeTime.awaitReal(() -> time.sleepers() >= 1 || worker.processed() >= 15, () -> "worker settles");
        }
        FakeTime.awaitReal(() -> worker.processed() == 15, () -> worker.processed() + " processed");

        Map<String, WorkerUsage.JobShare> byJob = worker.usageByJob();
        assertEquals(10, byJob.get("20260101-000000-aaaaaa").images());
        assertEquals(5, byJob.get("20260101-000000-bbbbbb").images());
        long split = byJob.values().stream().mapToLong(WorkerUsage.JobShare::busyMs).sum();
        assertTrue(Math.abs(worker.busyMs() - split) <= byJob.size(), "the jobs' busy time adds up to the worker's: " + split
                + " vs " + worker.busyMs());
        assertTrue(worker.busyMs() >= 4000, "two batches of 2 s inference at least: " + worker.busyMs());

        long before = stored().updatedAt();
        time.advance(UsageRecorder.BUSY_EVERY);
        assertEquals(15, stored().images(), "rewritten within ten seconds of new results");
        long busyWrite = stored().updatedAt();
        assertTrue(busyWrite > before);
        time.advance(UsageRecorder.BUSY_EVERY);
        assertEquals(busyWrite, stored().updatedAt(), "idle: not rewritten ten seconds later");
        time.advance(UsageRecorder.EVERY);
        assertTrue(stored().updatedAt() >= busyWrite + UsageRecorder.EVERY.toMillis(), "idle: rewritten every minute");
        worker.beginShutdown();
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)));
        recorder.close();

        WorkerUsage last = stored();
        assertEquals(WorkerUsage.key(FakeTime.START.toEpochMilli(), "w-1"), last.key());
        assertEquals("c7i.large", last.instanceType());
        assertEquals("spot", last.market());
        assertEquals(byJob, last.jobs());
        assertEquals(worker.busyMs(), last.busyMs());
        assertEquals(Map.of("S3:GetObject", 1L), last.requests());
        assertEquals(time.millis(), last.updatedAt());
        assertEquals(FakeTime.START.toEpochMilli(), WorkerUsage.startedAt(last.key()));
    }
}
