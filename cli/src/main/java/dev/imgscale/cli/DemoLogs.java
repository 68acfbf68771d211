package dev.imgscale.cli;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the demo's logs go. A newcomer's first run should show the demo's own lines and the labels,
 * so by default everything this process logs (the local stack, the controller, the fleet) goes to
 * {@code controller.log} in a folder the demo names, and each worker process writes its own log
 * beside it. With {@code -v} all of it goes to the terminal, as the other commands do.
 *
 * <p>slf4j-simple writes to whatever {@code System.err} is at the time of each line, so swapping it
 * for the demo's run catches every logger, including those created before the demo started; the
 * demo's own lines go through picocli's writer, which holds the terminal's stream.
 */
final class DemoLogs implements AutoCloseable {
    static final String CONTROLLER_LOG = "controller.log";

    private final Optional<Path> folder;
    private final PrintStream terminal;
    private final PrintStream file;

    private DemoLogs(Optional<Path> folder, PrintStream terminal, PrintStream file) {
        this.folder = folder;
        this.terminal = terminal;
        this.file = file;
    }

    /** Logs to files in {@code folder} from now until {@link #close}. */
    static DemoLogs toFolder(Path folder) throws IOException {
        Files.createDirectories(folder);
        PrintStream file = new PrintStream(new FileOutputStream(folder.resolve(CONTROLLER_LOG).toFile(), true), true, StandardCharsets.UTF_8);
        PrintStream terminal = System.err;
        System.setErr(file);
        return new DemoLogs(Optional.of(folder), terminal, file);
    }

    /** Logs stay on the terminal. */
    static DemoLogs toTerminal() {
        return new DemoLogs(Optional.empty(), null, null);
    }

    /** The folder of the log files; empty when the logs go to the terminal. */
    Optional<Path> folder() {
        return folder;
    }

    @Override
    public void close() {
        if (file != null) {
            System.setErr(terminal);
            file.close();
        }
    }
}
