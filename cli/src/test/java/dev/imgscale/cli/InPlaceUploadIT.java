package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.TestAssets;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.testing.StoredResults;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.wire.StackNames;
import dev.imgscale.daemon.worker.stage.Results;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images already in S3 classified where they are, on the real protocol: a bucket of the local
 * stack's S3 that is not the stack's, `upload s3://...` and `upload --manifest`, a real worker
 * process (started by the first test, after its object is deleted, and kept for the next), and
 * `results`; the labels are `classify`'s on the same files.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InPlaceUploadIT {
    static final String BUCKET = "user-photos";
    static final StackNames NAMES = StackNames.derive(StackNames.DEFAULT_STACK, null);

    @TempDir
    static Path dir;

    static LocalPipeline pipeline;
    static AwsClients clients;
    static ObjectStore photos;
    /** classify's rows for the development images and a text file named like a JPEG. */
    static Map<String, String[]> classified;

    @BeforeAll
    static void start() throws Exception {
        Path local = Files.createDirectories(dir.resolve("local"));
        for (String[] row : TestAssets.expected()) {
            Files.copy(TestAssets.images().resolve(row[0]), local.resolve(row[0]));
        }
        Files.writeString(local.resolve("notes.jpg"), "not an image, whatever its name says");
        pipeline = LocalPipeline.start(dir, Map.of());
        clients = new AwsClients(pipeline.stack.settings());
        clients.s3().createBucket(b -> b.bucket(BUCKET));
        photos = new S3ObjectStore(clients.s3(), BUCKET);
        try (var files = Files.list(local)) {
            for (Path f : files.toList()) {
                photos.put("shoot/2024/" + f.getFileName(), f, "application/octet-stream");
            }
        }
        photos.put("shoot/2024/readme.txt", "not listed: no image extension".getBytes(StandardCharsets.UTF_8), "text/plain");
        photos.put("shoot/2024/gone.jpg", Files.readAllBytes(local.resolve("parrot.jpg")), "image/jpeg");
        photos.put("shoot/2023/elsewhere.jpg", Files.readAllBytes(local.resolve("parrot.jpg")), "image/jpeg");
        CliRun classify = pipeline.run("classify", "--output", "csv", local.toString());
        assertEquals(3, classify.exitCode(), "the text file fails, the rest are labelled\n" + classify.evidence());
        classified = PipelineIT.csvRows(classify);
        assertEquals(TestAssets.expected().size() + 1, classified.size(), classify.evidence());
    }

    @AfterAll
    static void stop() throws Exception {
        if (clients != null) {
            clients.close();
        }
        if (pipeline != null) {
            pipeline.close();
        }
    }

    ResultRecord stored(String job, String name) {
        return StoredResults.byName(new S3ObjectStore(clients.s3(), NAMES.outputBucket()), job).get(name);
    }

    @Test
    @Order(1)
    void should_classify_a_prefix_in_place_with_classifys_labels_and_answer_a_deleted_object_and_a_non_image_with_error_rows()
            throws Exception {
        CliRun up = pipeline.run("upload", "--local", "s3://" + BUCKET + "/shoot/2024/");
        assertEquals(0, up.exitCode(), up.evidence());
        String job = up.out().strip();
        // deleted after it was queued, before any worker reads it
        photos.delete(List.of("shoot/2024/gone.jpg"));
        pipeline.worker("--idle-exit", "300");
        CliRun results = pipeline.run("results", "--local", "--follow", "--timeout", "240", "--output", "csv", "--job", job);
        assertEquals(3, results.exitCode(), "two images failed\n" + results.evidence() + pipeline.workerLog(0));
        Map<String, String[]> rows = PipelineIT.csvRows(results);
        assertEquals(classified.size() + 1, rows.size(), "the listed images, and no readme.txt or 2023/\n" + results.evidence());
        for (Map.Entry<String, String[]> e : classified.entrySet()) {
            String[] got = rows.get(e.getKey());
            assertEquals(e.getValue()[1], got[1], "label of " + e.getKey() + "\n" + results.evidence());
            assertEquals(e.getValue()[3], got[3], "error of " + e.getKey() + "\n" + results.evidence());
        }
        assertFalse(classified.get("notes.jpg")[3].isEmpty(), "classify gave the text file an error code");
        assertEquals(Results.MISSING, rows.get("gone.jpg")[3], results.evidence());

        CliRun json = pipeline.run("results", "--local", "--output", "json", "--job", job);
        assertTrue(json.out().lines().anyMatch(l -> l.startsWith("{\"name\":\"cat_720p.jpg\",\"source\":\"s3://" + BUCKET
                + "/shoot/2024/cat_720p.jpg\",\"label\":")), "JSON rows carry the source\n" + json.evidence());

        ResultRecord cat = stored(job, "cat_720p.jpg");
        assertEquals("s3://" + BUCKET + "/shoot/2024/cat_720p.jpg", cat.source());
        assertEquals("s3://" + BUCKET + "/shoot/2024/gone.jpg", stored(job, "gone.jpg").source());
        assertEquals(List.of(), new S3ObjectStore(clients.s3(), NAMES.inputBucket()).list(""), "nothing was copied into the input bucket");
    }

    @Test
    @Order(2)
    void should_classify_the_images_a_manifest_names_where_they_are() throws Exception {
        // a CSV with a header, URLs in its second column; and a one-column list of bare keys in S3
        List<String> csv = new ArrayList<>(List.of("id,s3_url"));
        List<String> keys = new ArrayList<>();
        int i = 0;
        for (String[] row : TestAssets.expected()) {
            if (i++ % 2 == 0) {
                csv.add(i + ",s3://" + BUCKET + "/shoot/2024/" + row[0]);
            } else {
                keys.add("shoot/2024/" + row[0]);
            }
        }
        Path file = Files.write(dir.resolve("manifest.csv"), csv);
        photos.put("lists/keys.txt", String.join("\n", keys).getBytes(StandardCharsets.UTF_8), "text/plain");
        for (String[] args : List.of(new String[] {"--manifest", file.toString()}, new String[] {"--manifest", "s3://" + BUCKET + "/lists/keys.txt"})) {
            List<String> cmd = new ArrayList<>(List.of("upload", "--local", "--wait", "--timeout", "240", "--output", "csv"));
            cmd.addAll(List.of(args));
            CliRun up = pipeline.run(cmd.toArray(String[]::new));
            assertEquals(0, up.exitCode(), up.evidence());
            Map<String, String[]> rows = PipelineIT.csvRows(up);
            assertEquals(args[1].endsWith(".csv") ? csv.size() - 1 : keys.size(), rows.size(), up.evidence());
            for (Map.Entry<String, String[]> e : rows.entrySet()) {
                // in a manifest an image's name is its key
                assertTrue(e.getKey().startsWith("shoot/2024/"), e.getKey());
                String[] want = classified.get(e.getKey().substring("shoot/2024/".length()));
                assertEquals(want[1], e.getValue()[1], e.getKey() + "\n" + up.evidence());
                assertEquals("", e.getValue()[3], up.evidence());
            }
        }
    }

    @Test
    void should_refuse_a_manifest_line_that_names_no_object_and_queue_nothing() throws Exception {
        Path file = Files.write(dir.resolve("bad.txt"), List.of("s3://" + BUCKET + "/shoot/2024/parrot.jpg", "s3://Not_A_Bucket/x.jpg"));
        CliRun up = pipeline.run("upload", "--local", "--manifest", file.toString());
        assertEquals(1, up.exitCode(), up.evidence());
        assertTrue(up.err().contains("Line 2 of the manifest"), up.evidence());
        assertEquals("", up.out(), up.evidence());
    }
}
