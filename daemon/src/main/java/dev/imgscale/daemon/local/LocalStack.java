package dev.imgscale.daemon.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.daemon.aws.AwsSettings;
import dev.imgscale.daemon.aws.AwsSettings.Service;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.ActorSystem;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.LocalStorageStrategy;
import org.jclouds.filesystem.FilesystemApiMetadata;
import org.jclouds.filesystem.reference.FilesystemConstants;
import org.jclouds.logging.slf4j.config.SLF4JLoggingModule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * S3 and SQS on this machine, in this process: ElasticMQ answers the SQS API and S3Proxy (over
 * the jclouds filesystem blob store) the S3 API, both on 127.0.0.1 only. The rest of imgscale
 * talks to them through the ordinary AWS SDK clients from {@link #settings()}; nothing else
 * changes in local mode.
 *
 * <p>What survives a restart and what does not:
 *
 * <ul>
 *   <li>Objects do: they are plain files under {@code dataDir/s3/<bucket>/<key>}.
 *   <li>Queues and their messages do <b>not</b>: ElasticMQ keeps them in memory, so whoever
 *       uses a restarted stack must create its queues again (CreateQueue is idempotent).
 * </ul>
 *
 * <p>Known difference from S3: for a key with a slash, such as {@code input/job/cat.jpg}, the
 * filesystem blob store also lists its directories as objects ({@code input/},
 * {@code input/job/}, with the directory's size, typically 4096). ListObjectsV2 with a prefix
 * does it too, for every directory below the prefix (prefix {@code input/} lists
 * {@code input/job/} but not {@code input/} itself). Listing code skips them with
 * {@link dev.imgscale.daemon.wire.Keys#isFolderMarker(String)}; imgscale never writes a key ending in '/'. Empty
 * directories go away with their last object.
 *
 * <p>A path segment between slashes longer than a file name may be (S3 allows any key up to 1,024
 * UTF-8 bytes) is stored as several directories by {@link LongKeyBlobStore}, and read back as the
 * one key. Other limits of the filesystem back end, each answered with a 500 (which the SDK
 * retries twice) where S3 would accept the key: a key cannot also be a "directory" of another key
 * ({@code a/b} and {@code a/b/c}); a segment of {@code ..} is refused. Conditional writes
 * ({@code If-None-Match: *}) are not enforced.
 *
 * <p>A listing reads the attributes of its page's objects only ({@link PagedListBlobStore}), so
 * paging through a large prefix costs time in proportion to its objects, as on S3.
 *
 * <p>S3Proxy checks AWS signatures (V2 or V4) against the fixed local key pair in
 * {@link #settings()}, so a client that signs wrongly fails here as it would on AWS.
 */
public final class LocalStack implements AutoCloseable {

    /** Region the local stack reports and expects; any region would do. */
    public static final String REGION = "us-east-1";

    /** Account id in the ElasticMQ queue ARNs ({@code arn:aws:sqs:us-east-1:000000000000:q}). */
    public static final String ACCOUNT_ID = "000000000000";

    /** The fixed local key pair; these are not secrets and reach nothing but the local stack. */
    public static final AwsSettings.StaticCredentials CREDENTIALS =
            new AwsSettings.StaticCredentials("imgscale-local", "imgscale-local-secret", null);

    private static final Logger log = LoggerFactory.getLogger(LocalStack.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String LOOPBACK = "127.0.0.1";

    private final Path dataDir;
    private final ActorSystem actorSystem;
    private final SQSRestServer sqsServer;
    private final S3Proxy s3Proxy;
    private final BlobStoreContext blobStoreContext;
    private final URI sqsEndpoint;
    private final URI s3Endpoint;
    private final Instant startedAt;
    private Path stateFile;
    private boolean closed;

    private LocalStack(Path dataDir, ActorSystem actorSystem, SQSRestServer sqsServer, int sqsPort,
            S3Proxy s3Proxy, BlobStoreContext blobStoreContext, int s3Port) {
        this.dataDir = dataDir;
        this.actorSystem = actorSystem;
        this.sqsServer = sqsServer;
        this.s3Proxy = s3Proxy;
        this.blobStoreContext = blobStoreContext;
        this.sqsEndpoint = URI.create("http://" + LOOPBACK + ":" + sqsPort);
        this.s3Endpoint = URI.create("http://" + LOOPBACK + ":" + s3Port);
        this.startedAt = Instant.now();
    }

    /**
     * Starts ElasticMQ and S3Proxy side by side and returns once both accept connections.
     *
     * @param dataDir where objects are kept (under {@code dataDir/s3}); created if missing
     * @param sqsPort port for SQS on 127.0.0.1, or 0 for any free port
     * @param s3Port port for S3 on 127.0.0.1, or 0 for any free port
     * @throws IllegalStateException when either server cannot start (for example, a port in use);
     *     whichever did start is stopped again
     */
    public static LocalStack start(Path dataDir, int sqsPort, int s3Port) {
        Objects.requireNonNull(dataDir, "dataDir");
        checkPort(sqsPort, "sqsPort");
        checkPort(s3Port, "s3Port");
        Path absolute = dataDir.toAbsolutePath().normalize();
        Path s3Dir = absolute.resolve("s3");
        try {
            Files.createDirectories(s3Dir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the local stack's data directory " + s3Dir, e);
        }

        long t0 = System.nanoTime();
        // Each server takes one to three seconds in a fresh JVM, mostly class loading: start them
        // in parallel.
        CompletableFuture<StartedS3> s3 = CompletableFuture.supplyAsync(
                () -> startS3(s3Dir, s3Port), LocalStack::startThread);
        // Our own actor system, so that we can always terminate it: when the bind fails,
        // ElasticMQ's own stopAndWait() fails too and leaves its non-daemon threads running.
        ActorSystem actorSystem = ActorSystem.create("elasticmq");
        SQSRestServer sqs;
        int boundSqsPort;
        try {
            sqs = SQSRestServerBuilder
                    .withActorSystem(actorSystem)
                    .withInterface(LOOPBACK)
                    .withPort(sqsPort)
                    .withAWSRegion(REGION)
                    .withAWSAccountId(ACCOUNT_ID)
                    .start();
            boundSqsPort = sqs.waitUntilStarted().localAddress().getPort();
        } catch (RuntimeException e) {
            terminate(actorSystem);
            try {
                s3.join().stopQuietly();
            } catch (CompletionException ignored) {
                // S3 did not start either; the SQS failure is the one to report.
            }
            throw new IllegalStateException("Cannot start the local SQS (ElasticMQ) on " + LOOPBACK
                    + ":" + sqsPort + ": " + e.getMessage(), e);
        }
        StartedS3 started;
        try {
            started = s3.join();
        } catch (CompletionException e) {
            stopQuietly(sqs, actorSystem);
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalStateException("Cannot start the local S3 (S3Proxy) on " + LOOPBACK
                    + ":" + s3Port + ": " + cause.getMessage(), cause);
        }
        LocalStack stack = new LocalStack(absolute, actorSystem, sqs, boundSqsPort, started.proxy(),
                started.context(), started.proxy().getPort());
        log.info("Local stack up in {} ms: SQS {} S3 {} data {}",
                (System.nanoTime() - t0) / 1_000_000, stack.sqsEndpoint, stack.s3Endpoint, absolute);
        return stack;
    }

    public URI sqsEndpoint() {
        return sqsEndpoint;
    }

    public URI s3Endpoint() {
        return s3Endpoint;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Instant startedAt() {
        return startedAt;
    }

    /**
     * Client settings for this stack: region {@value #REGION}, the fixed local key pair, S3 and
     * SQS pointed at the two endpoints. EC2, SSM and STS are not emulated and keep AWS's own
     * endpoints.
     */
    public AwsSettings settings() {
        return settingsFor(sqsEndpoint, s3Endpoint);
    }

    /** This stack as a {@link LocalStackState} for the current process. */
    public LocalStackState state() {
        return new LocalStackState(
                ProcessHandle.current().pid(), sqsEndpoint, s3Endpoint, dataDir, startedAt);
    }

    /**
     * Writes {@link #state()} as JSON to {@code file} (atomically: a reader never sees half a
     * file). The file is deleted again by {@link #close()}.
     */
    public synchronized void writeState(Path file) {
        LocalStackState s = state();
        ObjectNode node = JSON.createObjectNode()
                .put("version", LocalStackState.FORMAT_VERSION)
                .put("pid", s.pid())
                .put("sqsEndpoint", s.sqsEndpoint().toString())
                .put("s3Endpoint", s.s3Endpoint().toString())
                .put("dataDir", s.dataDir().toString())
                .put("startedAt", s.startedAt().toString());
        Path target = file.toAbsolutePath();
        try {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".tmp");
            try {
                JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), node);
                try {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
                            StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the local stack state file " + target, e);
        }
        stateFile = target;
    }

    /**
     * Reads a state file written by {@link #writeState}. Empty when the file does not exist.
     * The state may be stale: check {@link LocalStackState#isProcessAlive()} before using it.
     *
     * @throws IllegalStateException when the file exists but is not a state file
     */
    public static Optional<LocalStackState> readState(Path file) {
        JsonNode node;
        try {
            node = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new IllegalStateException("The local stack state file " + file
                    + " is unreadable; delete it and start the local stack again.", e);
        }
        try {
            int version = node.path("version").asInt(-1);
            if (version != LocalStackState.FORMAT_VERSION) {
                throw new IllegalArgumentException("unknown version " + node.path("version"));
            }
            return Optional.of(new LocalStackState(
                    node.get("pid").asLong(),
                    URI.create(node.get("sqsEndpoint").asText()),
                    URI.create(node.get("s3Endpoint").asText()),
                    Path.of(node.get("dataDir").asText()),
                    Instant.parse(node.get("startedAt").asText())));
        } catch (RuntimeException e) {
            throw new IllegalStateException("The local stack state file " + file
                    + " is not one imgscale wrote (" + e.getMessage()
                    + "); delete it and start the local stack again.", e);
        }
    }

    /** Stops both servers and deletes the state file this stack wrote, if any. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (stateFile != null) {
            try {
                // Only our own file: another stack may have written over it since.
                Optional<LocalStackState> onDisk = readState(stateFile);
                if (onDisk.isPresent() && onDisk.get().pid() == ProcessHandle.current().pid()
                        && onDisk.get().s3Endpoint().equals(s3Endpoint)) {
                    Files.deleteIfExists(stateFile);
                }
            } catch (IOException | RuntimeException e) {
                log.warn("Could not delete the local stack state file {}: {}", stateFile, e.toString());
            }
        }
        new StartedS3(s3Proxy, blobStoreContext).stopQuietly();
        stopQuietly(sqsServer, actorSystem);
    }

    @Override
    public String toString() {
        return "LocalStack[sqs=" + sqsEndpoint + ", s3=" + s3Endpoint + ", dataDir=" + dataDir + "]";
    }

    static AwsSettings settingsFor(URI sqsEndpoint, URI s3Endpoint) {
        return AwsSettings.forEndpoints(REGION,
                Map.of(Service.SQS, sqsEndpoint, Service.S3, s3Endpoint), CREDENTIALS);
    }

    private record StartedS3(S3Proxy proxy, BlobStoreContext context) {
        void stopQuietly() {
            try {
                proxy.stop();
            } catch (Exception e) {
                log.warn("Stopping the local S3 failed: {}", e.toString());
            }
            context.close();
        }
    }

    private static StartedS3 startS3(Path s3Dir, int port) {
        Properties overrides = new Properties();
        overrides.setProperty(FilesystemConstants.PROPERTY_BASEDIR, s3Dir.toString());
        // By API metadata, not by the name "filesystem": a lookup by name instantiates every
        // jclouds provider on the class path, and s3proxy registers an Azure one whose SDK is
        // excluded from our build.
        BlobStoreContext context = ContextBuilder.newBuilder(new FilesystemApiMetadata())
                .overrides(overrides)
                // Without this module jclouds logs through java.util.logging, past slf4j.
                .modules(List.of(new SLF4JLoggingModule()))
                .buildView(BlobStoreContext.class);
        S3Proxy proxy = S3Proxy.builder()
                // keys with path segments longer than a file name may be, as S3 allows
                .blobStore(new LongKeyBlobStore(new PagedListBlobStore(context.getBlobStore(),
                        context.utils().injector().getInstance(LocalStorageStrategy.class))))
                .endpoint(URI.create("http://" + LOOPBACK + ":" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4,
                        CREDENTIALS.accessKeyId(), CREDENTIALS.secretAccessKey())
                // SDK 2.30+ sends x-amz-checksum-crc32 on operations that require a checksum
                // (DeleteObjects); S3Proxy rejects headers it does not know unless told to ignore them.
                .ignoreUnknownHeaders(true)
                .build();
        try {
            proxy.start();
        } catch (Exception e) {
            try {
                proxy.stop();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            context.close();
            throw new IllegalStateException(e.getMessage(), e);
        }
        return new StartedS3(proxy, context);
    }

    private static void startThread(Runnable task) {
        DaemonThreads.start("local-stack-s3-start", task);
    }

    private static void stopQuietly(SQSRestServer server, ActorSystem actorSystem) {
        try {
            server.stopAndWait();
        } catch (RuntimeException e) {
            log.warn("Stopping the local SQS failed: {}", e.toString());
        }
        terminate(actorSystem);
    }

    private static void terminate(ActorSystem actorSystem) {
        actorSystem.terminate();
        try {
            actorSystem.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("The local SQS actor system did not stop in 10 s: {}", e.toString());
        }
    }

    private static void checkPort(int port, String name) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(name + " must be 0 (any free port) or 1-65535: " + port);
        }
    }
}
