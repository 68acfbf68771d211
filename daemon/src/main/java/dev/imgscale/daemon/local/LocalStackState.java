package dev.imgscale.daemon.local;

import dev.imgscale.daemon.aws.AwsSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What a running {@link LocalStack} writes to its state file so that another process (a second
 * {@code imgscale} command, a worker child process) can find it: the owning process, the two
 * endpoints, the data directory and when it started.
 *
 * @param pid the process that runs the stack
 * @param sqsEndpoint the SQS endpoint (ElasticMQ)
 * @param s3Endpoint the S3 endpoint (S3Proxy)
 * @param dataDir the stack's data directory (objects live in {@code dataDir/s3})
 * @param startedAt when the stack finished starting
 */
public record LocalStackState(
        long pid, URI sqsEndpoint, URI s3Endpoint, Path dataDir, Instant startedAt) {

    /** Version of the JSON layout written by {@link LocalStack#writeState}. */
    public static final int FORMAT_VERSION = 1;

    public LocalStackState {
        Objects.requireNonNull(sqsEndpoint, "sqsEndpoint");
        Objects.requireNonNull(s3Endpoint, "s3Endpoint");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(startedAt, "startedAt");
    }

    /**
     * True while the process that wrote this state is alive. A file left behind by a process that
     * died (killed, crashed) is stale: its pid is gone, or has been reused by a process that
     * started after the stack did.
     */
    public boolean isProcessAlive() {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !handle.get().isAlive()) {
            return false;
        }
        // A reused pid belongs to a process that started after our stack did.
        return handle.get().info().startInstant()
                .map(start -> !start.isAfter(startedAt))
                .orElse(true);
    }

    /** Client settings for this stack: the same as {@link LocalStack#settings()} gives. */
    public AwsSettings settings() {
        return LocalStack.settingsFor(sqsEndpoint, s3Endpoint);
    }
}
