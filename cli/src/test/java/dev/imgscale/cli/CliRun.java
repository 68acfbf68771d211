package dev.imgscale.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;

/** Runs the real command line in this JVM and keeps what it printed, for tests. */
public record CliRun(int exitCode, String out, String err) {
    public static CliRun run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = ImgscaleCommand.commandLine(env, args); // as Main builds it
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }

    /** The test JVM's environment, with downloads off. */
    public static Map<String, String> env() {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("IMGSCALE_OFFLINE", "1");
        env.put("IMGSCALE_CACHE", EmptyCache.DIR.toString());
        env.put("IMGSCALE_ASSETS", String.join(java.io.File.pathSeparator,
                dev.imgscale.classifier.TestAssets.folders().stream().map(Object::toString).toList()));
        return env;
    }

    /**
     * An empty cache of the test JVM's own, so a developer's cached models do not change what a test
     * sees: one for all runs (a folder per run left hundreds behind in /tmp), removed at exit.
     */
    private static final class EmptyCache {
        static final java.nio.file.Path DIR = create();

        private static java.nio.file.Path create() {
            try {
                java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("imgscale-cache");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
                return dir;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        private static void delete(java.nio.file.Path dir) {
            try (var paths = java.nio.file.Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                // a temporary folder left behind: nothing to report
            }
        }
    }

    /** For assertion messages: everything the command printed. */
    public String evidence() {
        return "exit " + exitCode + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
    }
}
