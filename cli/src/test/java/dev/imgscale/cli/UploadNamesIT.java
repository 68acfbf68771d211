package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imgscale.classifier.TestAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Names map back 1:1 through the pipeline (upload, a real worker process, results). */
class UploadNamesIT {
    @TempDir
    Path dir;

    @Test
    void should_keep_DUP_dup_and_dup_2_apart_with_their_own_labels() throws Exception {
        // three different images whose names differ in case or look like a collision suffix
        Path folder = Files.createDirectories(dir.resolve("three"));
        Files.copy(TestAssets.images().resolve("cat_720p.jpg"), folder.resolve("DUP.jpg"));
        Files.copy(TestAssets.images().resolve("parrot.jpg"), folder.resolve("dup.jpg"));
        Files.copy(TestAssets.images().resolve("dragonfly.bmp"), folder.resolve("dup~2.jpg"));
        try (LocalPipeline pipeline = LocalPipeline.start(dir, Map.of())) {
            pipeline.worker("--idle-exit", "300");
            CliRun up = pipeline.run("upload", "--local", "--wait", "--timeout", "240", "--output", "csv", folder.toString());
            assertEquals(0, up.exitCode(), up.evidence() + pipeline.workerLog(0));
            Map<String, String[]> rows = PipelineIT.csvRows(up);
            assertEquals(3, rows.size(), up.evidence());
            assertEquals("Egyptian Mau", rows.get("DUP.jpg")[1], up.evidence());
            assertEquals("macaw", rows.get("dup.jpg")[1], up.evidence());
            assertEquals("dragonfly", rows.get("dup~2.jpg")[1], up.evidence());
        }
    }
}
