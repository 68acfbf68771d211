package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.TestAssets;
import dev.imgscale.classifier.decode.BadImageCorpus;
import dev.imgscale.classifier.decode.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** The whole pipeline on the embedded stack: upload, a real worker process, results, status, reset. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PipelineIT {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    static LocalPipeline pipeline;

    @BeforeAll
    static void start() throws Exception {
        pipeline = LocalPipeline.start(dir, Map.of());
        pipeline.worker("--idle-exit", "600");
    }

    @AfterAll
    static void stop() throws Exception {
        pipeline.close();
    }

    static Map<String, String[]> csvRows(CliRun run) {
        Map<String, String[]> rows = new HashMap<>();
        List<String> lines = run.out().lines().toList();
        assertEquals("name,label,score,error", lines.get(0), run.evidence());
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            assertFalse(rows.containsKey(f[0]), "one row per image: " + f[0] + "\n" + run.evidence());
            rows.put(f[0], f);
        }
        return rows;
    }

    @Test
    @Order(1)
    void should_label_the_uploaded_development_images_and_follow_until_all_14_are_in() throws Exception {
        CliRun up = pipeline.run("upload", "--local", TestAssets.images().toString());
        assertEquals(0, up.exitCode(), up.evidence());
        String job = up.out().strip();
        assertTrue(up.err().contains("skipping") && up.err().contains("expected.csv"), "non-images skipped\n" + up.evidence());

        CliRun follow = pipeline.run("results", "--local", "--follow", "--timeout", "240", "--output", "csv");
        assertEquals(0, follow.exitCode(), "job " + job + "\n" + follow.evidence() + pipeline.workerLog(0));
        Map<String, String[]> rows = csvRows(follow);
        assertEquals(14, rows.size(), follow.evidence());
        for (String[] row : TestAssets.expected()) {
            String[] got = rows.get(row[0]);
            assertEquals("", got[3], row[0] + " has no error");
            if (Double.parseDouble(row[2]) >= 0.5) {
                assertEquals(row[1], got[1], row[0]);
            }
        }

        CliRun again = pipeline.run("results", "--local", "--job", job, "--output", "course");
        assertEquals(0, again.exitCode(), again.evidence());
        assertTrue(again.out().contains("(parrot, macaw)"), "reading does not consume results\n" + again.evidence());

        CliRun status = pipeline.run("status", "--local", "--output", "json");
        assertEquals(0, status.exitCode(), status.evidence());
        JsonNode s = JSON.readTree(status.out());
        assertEquals(0, s.at("/queues/requests/visible").asInt() + s.at("/queues/requests/inFlight").asInt(), status.out());
        assertEquals(job, s.at("/jobs/0/job").asText(), status.out());
        assertEquals(14, s.at("/jobs/0/done").asInt(), status.out());
    }

    @Test
    @Order(2)
    void should_give_an_error_result_for_each_broken_image_and_labels_for_the_others() throws Exception {
        Path batch = Files.createDirectories(dir.resolve("broken"));
        Map<String, ErrorCode> bad = BadImageCorpus.writeTo(batch);
        Files.copy(TestAssets.images().resolve("parrot.jpg"), batch.resolve("parrot.jpg"));
        Files.copy(TestAssets.images().resolve("dragonfly.bmp"), batch.resolve("dragonfly.bmp"));
        CliRun up = pipeline.run("upload", "--local", "--wait", "--timeout", "240", "--output", "csv", batch.toString());
        assertEquals(ExitCodes.PARTIAL, up.exitCode(), up.evidence() + pipeline.workerLog(0));
        Map<String, String[]> rows = csvRows(up);
        assertEquals("macaw", rows.get("parrot.jpg")[1], up.evidence());
        assertEquals("dragonfly", rows.get("dragonfly.bmp")[1], up.evidence());
        int checked = 0;
        for (var e : bad.entrySet()) {
            if (rows.containsKey(e.getKey())) {
                assertEquals(e.getValue().name(), rows.get(e.getKey())[3], e.getKey() + "\n" + up.evidence());
                checked++;
            } else {
                assertTrue(up.err().contains("skipping") && up.err().contains(e.getKey()), "a file neither uploaded nor skipped: "
                        + e.getKey() + "\n" + up.evidence());
            }
        }
        assertTrue(checked >= 12, "most of the corpus goes through the workers: " + checked);

        CliRun status = pipeline.run("status", "--local", "--output", "json");
        JsonNode s = JSON.readTree(status.out());
        assertEquals(0, s.at("/queues/deadLetters/visible").asInt(), "nothing in the dead-letter queue\n" + status.out());
        assertEquals(0, s.at("/queues/requests/visible").asInt() + s.at("/queues/requests/inFlight").asInt(), status.out());
    }

    @Test
    @Order(3)
    void should_show_every_result_to_two_readers_following_the_same_job() throws Exception {
        Path imgs = dir.resolve("two-readers");
        LocalPipeline.copies(imgs, 1);
        CliRun up = pipeline.run("upload", "--local", imgs.toString());
        assertEquals(0, up.exitCode(), up.evidence());
        String job = up.out().strip();
        CompletableFuture<CliRun> a = CompletableFuture.supplyAsync(() ->
                pipeline.run("results", "--local", "--job", job, "--follow", "--timeout", "240", "--output", "csv"));
        CompletableFuture<CliRun> b = CompletableFuture.supplyAsync(() ->
                pipeline.run("results", "--local", "--job", job, "--follow", "--timeout", "240", "--output", "csv"));
        for (CliRun run : List.of(a.get(), b.get())) {
            assertEquals(0, run.exitCode(), run.evidence());
            assertEquals(14, csvRows(run).size(), run.evidence());
        }
    }

    @Test
    @Order(4)
    void should_leave_empty_queues_and_buckets_after_reset() throws Exception {
        CliRun reset = pipeline.run("reset", "--local", "--yes");
        assertEquals(0, reset.exitCode(), reset.evidence());
        CliRun status = pipeline.run("status", "--local", "--output", "json");
        JsonNode s = JSON.readTree(status.out());
        assertEquals(0, s.at("/jobs").size(), status.out());
        for (String q : List.of("requests", "deadLetters", "results")) {
            assertEquals(0, s.at("/queues/" + q + "/visible").asInt() + s.at("/queues/" + q + "/inFlight").asInt(), q + "\n" + status.out());
        }
        Path objects = pipeline.stack.dataDir().resolve("s3");
        try (var files = Files.walk(objects)) {
            assertEquals(List.of(), files.filter(Files::isRegularFile).toList(), "no object left in either bucket");
        }
        CliRun gone = pipeline.run("results", "--local");
        assertEquals(ExitCodes.FAILURE, gone.exitCode(), gone.evidence());
        assertTrue(gone.err().contains("no job"), gone.evidence());
    }
}
