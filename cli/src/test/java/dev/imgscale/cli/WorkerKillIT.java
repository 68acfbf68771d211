package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
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

            Process first = p.worker();
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
}
