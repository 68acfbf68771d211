package dev.imgscale.daemon.cost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

/**
 * A folder where processes leave their request counts ({@code requests-<pid>.json}, the form of
 * {@link RequestCounts#toJson()}), so that a run made of several processes (a local stack, an
 * upload, worker processes, readers) can be totalled afterwards. Workers are stopped by SIGTERM
 * (a shutdown hook writes the last counts) and may be killed -9, so each process also rewrites its
 * file every few seconds.
 */
public final class RequestLog {
    /** The environment variable that names the folder; each imgscale process writes there when it is set. */
    public static final String ENV = "IMGSCALE_REQUEST_LOG";
    private static final String PREFIX = "requests-";
    private static final String SUFFIX = ".json";

    private RequestLog() {
    }

    /**
     * Starts writing this process's ledger to {@code dir} every {@code period} and at exit.
     *
     * @throws UncheckedIOException when the folder cannot be created
     */
    public static void export(Path dir, RequestLedger ledger, Duration period) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the request log folder " + dir + " (" + ENV + ")", e);
        }
        Path file = dir.resolve(PREFIX + ProcessHandle.current().pid() + SUFFIX);
        Runnable write = () -> write(file, ledger.snapshot());
        Thread writer = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(period.toMillis());
                    write.run();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "imgscale-request-log");
        writer.setDaemon(true);
        writer.start();
        Runtime.getRuntime().addShutdownHook(new Thread(write, "imgscale-request-log-exit"));
    }

    /** The sum of every process's counts in the folder (empty when there is none). */
    public static RequestCounts total(Path dir) {
        RequestCounts sum = RequestCounts.EMPTY;
        if (!Files.isDirectory(dir)) {
            return sum;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, PREFIX + "*" + SUFFIX)) {
            for (Path f : files) {
                try {
                    sum = sum.plus(RequestCounts.fromJson(Files.readString(f, StandardCharsets.UTF_8)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("The request log " + f + " is not one imgscale wrote: " + e.getMessage(), e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the request log folder " + dir, e);
        }
        return sum;
    }

    static void write(Path file, RequestCounts counts) {
        try {
            // atomically: a reader summing the folder never sees half a file
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.writeString(tmp, counts.toJson(), StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            // Counting must never break the work it counts: the figure is lost, the process goes on.
            System.err.println("imgscale: cannot write the request log " + file + ": " + e.getMessage());
        }
    }
}
