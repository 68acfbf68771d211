package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.TestAssets;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's local flow with the built binary, each piece its own process: `local up`, `worker
 * --local`, then `upload --local --wait --output csv`, whose labels equal `classify`'s; SIGTERM
 * then stops the worker and the stack with exit code 0.
 */
class LocalStackIT {
    @TempDir
    Path dir;

    private ProcessBuilder launcher(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("imgscale.repo")).resolve("bin/imgscale").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.put("IMGSCALE_JAR", System.getProperty("imgscale.jar"));
        env.put("IMGSCALE_OFFLINE", "1");
        env.put("IMGSCALE_HOME", dir.resolve("home").toString());
        env.put("XDG_CONFIG_HOME", dir.resolve("config").toString());
        env.put("IMGSCALE_ASSETS", String.join(File.pathSeparator, TestAssets.folders().stream().map(Object::toString).toList()));
        return pb;
    }

    private String run(int expectedExit, String... args) throws IOException, InterruptedException {
        Process p = launcher(args).redirectError(dir.resolve("last.err").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(expectedExit, p.exitValue(), String.join(" ", args) + "\n" + out + Files.readString(dir.resolve("last.err")));
        return out;
    }

    @Test
    void should_run_the_readme_flow_with_separate_processes_and_stop_cleanly() throws Exception {
        Process stack = launcher("local", "up").redirectErrorStream(true).redirectOutput(dir.resolve("stack.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!Files.exists(dir.resolve("stack.log")) || !Files.readString(dir.resolve("stack.log")).contains("ready")) {
            assertTrue(stack.isAlive() && System.nanoTime() < deadline, "local up did not get ready:\n" + Files.readString(dir.resolve("stack.log")));
            Thread.sleep(100);
        }
        Process worker = launcher("worker", "--local").redirectErrorStream(true).redirectOutput(dir.resolve("worker.log").toFile()).start();
        try {
            String csv = run(0, "upload", "--local", "--wait", "--timeout", "300", "--output", "csv", TestAssets.images().toString());
            String classified = run(0, "classify", "--output", "csv", TestAssets.images().toString());
            assertEquals(classified.lines().sorted().toList(), csv.lines().sorted().toList(),
                    "the pipeline labels the images as classify does");
            assertEquals(15, csv.lines().count(), csv);
        } finally {
            worker.destroy(); // SIGTERM
            assertTrue(worker.waitFor(60, TimeUnit.SECONDS));
            stack.destroy();
            assertTrue(stack.waitFor(60, TimeUnit.SECONDS));
        }
        assertEquals(0, worker.exitValue(), "worker exits 0 on SIGTERM\n" + Files.readString(dir.resolve("worker.log")));
        assertTrue(Files.readString(dir.resolve("worker.log")).contains("stopped"), Files.readString(dir.resolve("worker.log")));
        assertTrue(Files.notExists(dir.resolve("home/local/state.json")), "the state file goes with the stack");
    }
}
