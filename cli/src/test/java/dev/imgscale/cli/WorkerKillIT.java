package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.testing.StoredResults;
import dev.imgscale.daemon.wire.ResultRecord;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A worker process killed with SIGKILL in the middle of its work loses nothing and doubles nothing. */
class WorkerKillIT {
    @Test
    void should_give_every_image_exactly_one_result_when_a_worker_is_killed_mid_batch(@TempDir Path dir) throws Exception {
        // a short visibility timeout, so the killed worker's messages come back quickly
        try (LocalPipeline p = LocalPipeline.start(dir, Map.of("IMGSCALE_VISIBILITY_TIMEOUT", "8"))) {
            List<Path> images = LocalPipeline.copies(dir.resolve("images"), 5);
            CliRun up = p.run("upload", "--local", dir.resolve("images").toString());
            assertEquals(0, up.exitCode(), up.evidence());
            String job = up.out().strip();

            Process first = p.worker("--flush-images", "10"); // results every batch: some are written before the kill
            int seen = 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (seen == 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                seen = (int) p.run("results", "--local", "--job", job, "--output", "json").out().lines().count();
            }
            assertTrue(seen > 0, "the first worker produced results\n" + p.workerLog(0));
            first.destroyForcibly();
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            int atKill = (int) p.run("results", "--local", "--job", job, "--output", "json").out().lines().count();
            assertTrue(atKill < images.size(), "the worker was killed before the job was done (" + atKill + " of " + images.size() + ")");

            p.worker();
            CliRun follow = p.run("results", "--local", "--job", job, "--follow", "--timeout", "300", "--output", "csv");
            assertEquals(0, follow.exitCode(), follow.evidence() + p.workerLog(1));
            List<String> rows = follow.out().lines().skip(1).toList();
            Set<String> names = new HashSet<>();
            for (String row : rows) {
                String name = row.split(",", -1)[0];
                assertTrue(names.add(name), "exactly one result for " + name);
                assertFalse(row.endsWith(",MISSING"), row);
            }
            assertEquals(images.size(), names.size(), follow.evidence());
            CliRun status = p.run("status", "--local", "--output", "json");
            assertTrue(status.out().contains("\"deadLetters\":{\"visible\":0"), status.out());
        }
    }

    /**
     * Issue 13's case: a worker killed with SIGKILL after writing a batch object and before deleting
     * its requests. The worker is made to stop right after its first write (an environment variable
     * that exists only for this test), then killed; its requests come back after the visibility
     * timeout and a second worker writes their rows again. Every image has exactly one row, none is
     * lost, and the bucket really holds a name twice.
     */
    @Test
    void should_give_every_image_one_row_when_a_worker_is_killed_between_writing_a_batch_and_deleting_it(@TempDir Path dir)
            throws Exception {
        try (LocalPipeline p = LocalPipeline.start(dir, Map.of("IMGSCALE_VISIBILITY_TIMEOUT", "8"))) {
            List<Path> images = LocalPipeline.copies(dir.resolve("images"), 3);
            CliRun up = p.run("upload", "--local", dir.resolve("images").toString());
            assertEquals(0, up.exitCode(), up.evidence());
            String job = up.out().strip();

            // objects of ten, so that the first is written well before the job is done
            Process first = p.worker(Map.of("IMGSCALE_TEST_PAUSE_AFTER_WRITE", "1"), "--flush-images", "10");
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (!p.workerLog(0).contains("stopped before deleting") && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(p.workerLog(0).contains("stopped before deleting"), p.workerLog(0));
            first.destroyForcibly(); // SIGKILL
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            List<String> written;
            try (StackContext stack = StackOpener.open(new StackOpener.Request(Map.of(), true, null, p.env))) {
                written = StoredResults.rows(stack.output(), job).stream().map(ResultRecord::name).toList();
            }
            assertFalse(written.isEmpty(), "the first worker's batch object is written");
            assertTrue(written.size() < images.size(), "killed before the job was done");

            p.worker();
            CliRun follow = p.run("results", "--local", "--job", job, "--follow", "--timeout", "300", "--output", "csv");
            assertEquals(0, follow.exitCode(), follow.evidence() + p.workerLog(1));
            Set<String> names = new HashSet<>();
            for (String row : follow.out().lines().skip(1).toList()) {
                assertTrue(names.add(row.split(",", -1)[0]), "exactly one row for " + row);
            }
            assertEquals(images.size(), names.size(), follow.evidence());
            // the follow ends once every name has a row: the killed worker's requests may still be
            // on their second round; wait until the second worker has answered them too
            JsonNode queues = null;
            for (long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2); System.nanoTime() < end; Thread.sleep(500)) {
                queues = new ObjectMapper().readTree(p.run("status", "--local", "--output", "json").out()).path("queues").path("requests");
                if (queues.path("visible").asInt() + queues.path("inFlight").asInt() == 0) {
                    break;
                }
            }
            assertEquals(0, queues.path("visible").asInt() + queues.path("inFlight").asInt(), queues + p.workerLog(1));
            // a reader that reads every row stores the exact counts, which status then uses
            CliRun all = p.run("results", "--local", "--job", job, "--output", "csv");
            assertEquals(images.size() + 1, all.out().lines().count(), all.evidence());

            try (StackContext stack = StackOpener.open(new StackOpener.Request(Map.of(), true, null, p.env))) {
                List<ResultRecord> rows = StoredResults.rows(stack.output(), job);
                Map<String, Long> perName = new HashMap<>();
                rows.forEach(r -> perName.merge(r.name(), 1L, Long::sum));
                for (String name : written) {
                    assertEquals(2L, perName.get(name), name + ": written by the killed worker and again after the redelivery");
                }
                assertEquals(images.size() + written.size(), rows.size(), "the bucket holds the killed worker's rows twice");
            }
            // status: the listing counts the redelivered rows twice, but `results` above stored the exact counts
            JsonNode status = new ObjectMapper().readTree(p.run("status", "--local", "--output", "json").out());
            JsonNode row = status.path("jobs").get(0);
            assertEquals(images.size(), row.path("done").asInt(), status.toString());
            assertTrue(row.path("exact").asBoolean(), status.toString());
            assertTrue(row.path("complete").asBoolean(), status.toString());
        }
    }
}
