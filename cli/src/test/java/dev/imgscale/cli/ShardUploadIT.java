package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.TestAssets;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLog;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.StackNames;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `upload` of a folder in tar shards on the real protocols (the local stack), a real worker
 * process reading them by ranges, and the refusal to send shard requests to a worker of the
 * previous release.
 */
class ShardUploadIT {
    static final StackNames NAMES = StackNames.derive(StackNames.DEFAULT_STACK, null);

    @TempDir
    Path dir;

    @Test
    void should_upload_a_folder_in_shards_that_a_worker_classifies_with_ranged_reads() throws Exception {
        Path folder = dir.resolve("images");
        LocalPipeline.copies(folder, 3); // 42 images
        Files.writeString(folder.resolve("notes.txt"), "not an image");
        Path log = Files.createDirectories(dir.resolve("requests"));
        try (LocalPipeline pipeline = LocalPipeline.start(dir, Map.of())) {
            Map<String, String> workerEnv = Map.of(RequestLog.ENV, log.toString());
            pipeline.env.putAll(workerEnv);
            Process worker = pipeline.worker("--idle-exit", "300");
            pipeline.env.remove(RequestLog.ENV);
            CliRun up = pipeline.run("upload", "--local", "--wait", "--timeout", "240", "--output", "csv", folder.toString());
            assertEquals(0, up.exitCode(), up.evidence() + pipeline.workerLog(0));
            Map<String, String[]> rows = PipelineIT.csvRows(up);
            assertEquals(42, rows.size(), up.evidence());
            for (String[] expected : TestAssets.expected()) {
                for (String name : List.of(expected[0], "copy2_" + expected[0])) {
                    assertEquals("", rows.get(name)[3], name + " has no error\n" + up.evidence());
                    if (Double.parseDouble(expected[2]) >= 0.5) {
                        assertEquals(expected[1], rows.get(name)[1], name + "\n" + up.evidence());
                    }
                }
            }
            try (AwsClients clients = new AwsClients(pipeline.stack.settings())) {
                S3ObjectStore input = new S3ObjectStore(clients.s3(), NAMES.inputBucket());
                S3ObjectStore output = new S3ObjectStore(clients.s3(), NAMES.outputBucket());
                String job = output.list(Keys.JOBS).get(0).split("/")[1];
                assertEquals(List.of(Keys.shardPrefix(job) + "00000.tar"), input.list(Keys.shardPrefix(job)), "42 images: one shard");
                assertEquals(List.of(), input.list(Keys.inputPrefix(job)), "no image is its own object");
                JobManifest manifest = Json.read(output.get(Keys.manifest(job)).orElseThrow(), JobManifest.class);
                assertEquals(42, manifest.total());
                // the shard is a tar that ordinary tools open
                Path tar = dir.resolve("shard.tar");
                Files.write(tar, input.get(Keys.shardPrefix(job) + "00000.tar").orElseThrow());
                Process list = new ProcessBuilder("tar", "-tf", tar.toString()).redirectErrorStream(true).start();
                String names = new String(list.getInputStream().readAllBytes());
                assertTrue(list.waitFor(30, TimeUnit.SECONDS) && list.exitValue() == 0, names);
                assertEquals(42, names.lines().count(), names);
            }
            worker.destroy();
            assertTrue(worker.waitFor(60, TimeUnit.SECONDS), "the worker stops on SIGTERM");
            RequestCounts counts = RequestLog.total(log);
            long gets = counts.get("S3", "GetObject");
            assertTrue(gets >= 5 && gets < 42, "neighbours in one ranged GET: " + gets + " GetObject for 42 images\n" + counts.toJson());
        }
    }

    @Test
    void should_refuse_to_upload_while_a_worker_of_the_previous_release_is_live() throws Exception {
        Path folder = dir.resolve("images");
        LocalPipeline.copies(folder, 1);
        try (LocalPipeline pipeline = LocalPipeline.start(dir, Map.of());
             AwsClients clients = new AwsClients(pipeline.stack.settings())) {
            S3ObjectStore output = new S3ObjectStore(clients.s3(), NAMES.outputBucket());
            S3ObjectStore input = new S3ObjectStore(clients.s3(), NAMES.inputBucket());
            long now = System.currentTimeMillis();
            // the report as the previous release writes it: no "reads"
            output.put(ObjectStoreWorkerBoard.WORKERS + "i-0old.json", ("{\"v\":1,\"id\":\"i-0old\",\"state\":\"POLLING\",\"inHand\":0,"
                    + "\"processed\":0,\"msPerImage\":0.0,\"startedAt\":" + now + ",\"idleSince\":" + now + ",\"updatedAt\":" + now + "}")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8), "application/json");

            CliRun up = pipeline.run("upload", "--local", folder.toString());
            assertEquals(1, up.exitCode(), up.evidence());
            assertTrue(up.err().contains("Worker i-0old of stack") && up.err().contains("runs an earlier imgscale release"),
                    up.evidence());
            assertEquals(List.of(), input.list(""), "nothing stored");
            assertEquals(List.of(), output.list(Keys.JOBS), "no job");

            // once it reports STOPPED, the upload goes ahead
            output.put(ObjectStoreWorkerBoard.WORKERS + "i-0old.json", Json.bytes(new WorkerStatus(1, "i-0old", WorkerState.STOPPED,
                    0, 0, 0, now, now, System.currentTimeMillis())), "application/json");
            CliRun again = pipeline.run("upload", "--local", folder.toString());
            assertEquals(0, again.exitCode(), again.evidence());
        }
    }
}
