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
        return launch(java.util.Map.of(), args);
    }

    static String[] launch(java.util.Map<String, String> env, String... args) throws IOException, InterruptedException {
        Path launcher = Path.of(System.getProperty("imgscale.repo")).resolve("bin/imgscale");
        List<String> cmd = new java.util.ArrayList<>(List.of(launcher.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("IMGSCALE_CDS");
        pb.environment().putAll(env);
        pb.environment().putIfAbsent("IMGSCALE_JAR", System.getProperty("imgscale.jar"));
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
    void should_give_client_commands_an_archive_of_every_class_they_load(@org.junit.jupiter.api.io.TempDir Path home)
            throws Exception {
        java.util.Map<String, String> env = java.util.Map.of("IMGSCALE_HOME", home.toString());
        String[] help = launch(env, "status", "--help");
        assertEquals("0", help[0], help[2]);
        assertTrue(!java.nio.file.Files.exists(home.resolve("cds")) || isEmpty(home.resolve("cds")),
                "a run for help makes no archive: it would hold few of the command's classes");
        String[] first = launch(env, "model", "list");
        assertEquals("0", first[0], first[2]);
        Path cds = home.resolve("cds");
        List<Path> files;
        try (var list = java.nio.file.Files.list(cds)) {
            files = list.toList();
        }
        List<String> names = files.stream().map(f -> f.getFileName().toString().replaceAll("^cli-\\d+-\\d+", "cli-KEY")).sorted().toList();
        assertEquals(List.of("cli-KEY.classes", "cli-KEY.commands", "cli-KEY.jsa"), names,
                "the archive, its class list and the commands it holds; nothing half-written: " + files);

        assertEquals("model\n", java.nio.file.Files.readString(files.stream()
                .filter(f -> f.toString().endsWith(".commands")).findFirst().orElseThrow()), "the commands whose classes it holds");

        Path log = home.resolve("classes.log");
        String[] second = launch(java.util.Map.of("IMGSCALE_HOME", home.toString(), "JAVA_OPTS", "-Xlog:class+load:file=" + log),
                "model", "list");
        assertEquals("0", second[0], second[2]);
        assertEquals(first[1], second[1], "making the archive printed nothing into the command's output");
        String loaded = java.nio.file.Files.readString(log);
        // picocli's classes are Java 5 class files, which a dynamic archive (Java 17) leaves out
        assertTrue(loaded.contains("picocli.CommandLine source: shared objects file"), "picocli from the archive");
        assertTrue(loaded.contains("dev.imgscale.cli.Main source: shared objects file"), "imgscale's own from the archive");
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (var list = java.nio.file.Files.list(dir)) {
            return list.findAny().isEmpty();
        }
    }

    @Test
    void should_classify_through_the_launcher() throws Exception {
        String[] r = launch("classify", "--output", "csv", dev.imgscale.classifier.TestAssets.images().resolve("parrot.jpg").toString());
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("parrot.jpg,macaw,"), r[1] + r[2]);
    }
}
