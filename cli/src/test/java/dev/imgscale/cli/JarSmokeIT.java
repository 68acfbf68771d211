package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The built binary, run through bin/imgscale as the README says. */
class JarSmokeIT {
    static String[] launch(String... args) throws IOException, InterruptedException {
        Path launcher = Path.of(System.getProperty("imgscale.repo")).resolve("bin/imgscale");
        List<String> cmd = new java.util.ArrayList<>(List.of(launcher.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("IMGSCALE_JAR", System.getProperty("imgscale.jar"));
        pb.environment().put("IMGSCALE_OFFLINE", "1");
        pb.environment().put("IMGSCALE_ASSETS", String.join(java.io.File.pathSeparator,
                dev.imgscale.classifier.TestAssets.folders().stream().map(Object::toString).toList()));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        return new String[] {String.valueOf(p.exitValue()), out, err};
    }

    @Test
    void should_report_the_version_from_the_jar_manifest() throws Exception {
        String[] r = launch("--version");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].startsWith("imgscale " + System.getProperty("imgscale.version")), r[1]);
    }

    @Test
    void should_classify_through_the_launcher() throws Exception {
        String[] r = launch("classify", "--output", "csv", dev.imgscale.classifier.TestAssets.images().resolve("parrot.jpg").toString());
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("parrot.jpg,macaw,"), r[1] + r[2]);
    }
}
