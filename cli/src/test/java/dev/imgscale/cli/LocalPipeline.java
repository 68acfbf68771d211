package dev.imgscale.cli;

import dev.imgscale.classifier.TestAssets;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.stack.ConfigLoader;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.stack.StackProvisioner;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The embedded stack for a test: a real LocalStack in this JVM (as `imgscale local up` runs it),
 * its state file in a private IMGSCALE_HOME so that `--local` commands find it, and real worker
 * processes ({@code imgscale worker --local}) started from this classpath.
 */
final class LocalPipeline implements AutoCloseable {
    final Path home;
    final LocalStack stack;
    final Map<String, String> env;
    private final List<Process> workers = new ArrayList<>();

    private LocalPipeline(Path home, LocalStack stack, Map<String, String> env) {
        this.home = home;
        this.stack = stack;
        this.env = env;
    }

    static LocalPipeline start(Path dir, Map<String, String> extraEnv) throws IOException {
        Path home = Files.createDirectories(dir.resolve("home"));
        Map<String, String> env = new HashMap<>(CliRun.env());
        env.put("IMGSCALE_HOME", home.toString());
        env.put("XDG_CONFIG_HOME", dir.resolve("config").toString());
        env.putAll(extraEnv);
        LocalStack stack = LocalStack.start(StackOpener.localDir(env), 0, 0);
        try (AwsClients clients = new AwsClients(stack.settings())) {
            StackProvisioner.initLocal(stack, clients, ConfigLoader.merge(List.of(ConfigLoader.fromEnvironment(env)), null));
        }
        stack.writeState(StackOpener.localStateFile(env));
        return new LocalPipeline(home, stack, env);
    }

    CliRun run(String... args) {
        return CliRun.run(env, args);
    }

    /** Starts {@code imgscale worker --local ARGS} as a child process; its output goes to a log file. */
    Process worker(String... args) throws IOException {
        return worker(Map.of(), args);
    }

    /** {@link #worker(String...)} with more environment variables. */
    Process worker(Map<String, String> extraEnv, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "worker", "--local"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.environment().putAll(extraEnv);
        File log = home.resolve("worker-" + workers.size() + ".log").toFile();
        pb.redirectErrorStream(true).redirectOutput(log);
        Process p = pb.start();
        workers.add(p);
        return p;
    }

    String workerLog(int i) throws IOException {
        return Files.readString(home.resolve("worker-" + i + ".log"));
    }

    /** Images copied into a fresh folder under new names (n copies of the development images). */
    static List<Path> copies(Path dir, int n) throws IOException {
        Files.createDirectories(dir);
        List<Path> out = new ArrayList<>();
        for (String[] row : TestAssets.expected()) {
            for (int i = 0; i < n; i++) {
                Path target = dir.resolve(i == 0 ? row[0] : "copy" + i + "_" + row[0]);
                Files.copy(TestAssets.images().resolve(row[0]), target);
                out.add(target);
            }
        }
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : workers) {
            p.destroy();
        }
        for (Process p : workers) {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        stack.close();
    }
}
