package dev.imgscale.daemon.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A short external command (bash, shellcheck, a deployment script) run to its end for a test, its
 * output and errors merged into one text; with the tools for running scripts against stand-in
 * commands: a directory put first on {@code PATH}, and executable files to put there.
 */
public final class CommandRun {
    /** How the command ended, and all it printed. */
    public record Result(int exit, String output) {
    }

    private final List<String> command;
    private final ProcessBuilder process;

    private CommandRun(List<String> command) {
        this.command = command;
        this.process = new ProcessBuilder(command).redirectErrorStream(true);
    }

    public static CommandRun of(List<String> command) {
        return new CommandRun(command);
    }

    /** Adds these variables to the environment (this JVM's); null adds none. */
    public CommandRun env(Map<String, String> env) {
        if (env != null) {
            process.environment().putAll(env);
        }
        return this;
    }

    /** Removes a variable from the environment, so that the command does not see the machine's. */
    public CommandRun unset(String name) {
        process.environment().remove(name);
        return this;
    }

    /** Puts {@code dir} first on {@code PATH}, so its commands stand in for the real ones; null leaves PATH. */
    public CommandRun pathFirst(Path dir) {
        if (dir != null) {
            process.environment().put("PATH", dir + ":" + process.environment().getOrDefault("PATH", "/usr/bin:/bin"));
        }
        return this;
    }

    /** Runs the command and waits for it; fails the test if it has not ended within {@code timeout}. */
    public Result run(Duration timeout) throws IOException, InterruptedException {
        Process p = process.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS), "timed out: " + command);
        return new Result(p.exitValue(), out);
    }

    /** Whether {@code command} is an executable on this JVM's PATH (for assumptions on optional tools). */
    public static boolean onPath(String command) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, command))) {
                return true;
            }
        }
        return false;
    }

    /** Writes {@code text} to {@code file} and makes it executable: a stand-in command. */
    public static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
