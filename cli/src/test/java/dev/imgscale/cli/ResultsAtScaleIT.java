package dev.imgscale.cli;

import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultBatch;
import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not part of the suite: the fixture for issue 13's reader targets. With {@code bin/imgscale local
 * up} running, {@code -Dimgscale.fixture.images=100000} stores a finished job in that stack's
 * output bucket as the workers would have left it, one {@link ResultBatch} object per 100 images
 * (1,000 objects, each row with its top five and a source) and a sealed version-2 manifest, and
 * prints the job id; then {@code bin/imgscale status} and {@code results --job ID --output csv} are
 * timed with farm-bench (docs/data-plane.md has the commands and figures).
 */
class ResultsAtScaleIT {
    @Test
    @EnabledIfSystemProperty(named = "imgscale.fixture.images", matches = "\\d+")
    void store_a_finished_job_of_batch_objects_in_the_running_local_stack() throws Exception {
        int images = Integer.getInteger("imgscale.fixture.images");
        int perObject = Integer.getInteger("imgscale.fixture.per-object", 100);
        try (StackContext stack = StackOpener.open(new StackOpener.Request(java.util.Map.of(), true, null, System.getenv()))) {
            String job = JobId.next(Instant.now());
            stack.output().put(Keys.manifest(job), Json.bytes(JobManifest.open(job, System.currentTimeMillis(), "fixture")),
                    "application/json");
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> puts = new ArrayList<>();
            long start = System.currentTimeMillis();
            for (int first = 0; first < images; first += perObject) {
                int from = first;
                int to = Math.min(images, first + perObject);
                puts.add(pool.submit(() -> {
                    List<ResultRecord> rows = new ArrayList<>(to - from);
                    for (int i = from; i < to; i++) {
                        rows.add(row(job, i));
                    }
                    stack.output().put(ResultBatch.key(job, "fixture-worker:" + (from / 10_000), start, from / perObject + 1,
                            ResultBatch.countsOf(rows)), ResultBatch.write(rows), ResultBatch.CONTENT_TYPE);
                }));
            }
            for (Future<?> f : puts) {
                f.get();
            }
            pool.shutdown();
            stack.output().put(Keys.manifest(job), Json.bytes(JobManifest.open(job, start, "fixture").seal(images, 0)),
                    "application/json");
            System.out.println("fixture job " + job + ": " + images + " images in " + puts.size() + " objects");
        }
    }

    /** A plausible row: an image in place, its top five, every tenth an error. */
    static ResultRecord row(String job, int i) {
        String name = String.format(Locale.ROOT, "shoot-%03d/IMG_%06d.jpg", i / 1000, i);
        String source = "s3://user-photos/2024/" + name;
        if (i % 10 == 9) {
            return new ResultRecord(1, job, name, null, null, null, "CORRUPT", "the image data is cut short", "mobilenet-v2-int8",
                    "fixture-worker", 1, 1764936000000L + i, 850L, source);
        }
        List<ResultRecord.Label> top = List.of(new ResultRecord.Label("macaw", 0.82f, 88), new ResultRecord.Label("lorikeet", 0.07f, 90),
                new ResultRecord.Label("toucan", 0.03f, 96), new ResultRecord.Label("bee eater", 0.02f, 92),
                new ResultRecord.Label("hummingbird", 0.01f, 94));
        return new ResultRecord(1, job, name, "macaw", 0.82f, top, null, null, "mobilenet-v2-int8", "fixture-worker", 1,
                1764936000000L + i, 850L, source);
    }
}
