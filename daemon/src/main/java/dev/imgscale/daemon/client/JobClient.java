package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.stack.StackContext;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a user does with a stack, shared by the command line and the web tier: upload images as a
 * job, read and follow its results, reset, and look at the status. Result objects in the output
 * bucket are the source of truth: reading never consumes anything, so any number of readers see
 * the same results.
 */
@ThreadSafe
public final class JobClient {
    private static final Logger LOG = LoggerFactory.getLogger(JobClient.class);
    private static final int ATTEMPTS = 4;

    private final StackContext stack;
    private final Clock clock;

    public JobClient(StackContext stack, Clock clock) {
        this.stack = stack;
        this.clock = clock;
    }

    /**
     * Stores the images under a new job (concurrently), writes the job's manifest, then sends one
     * request per stored image. An image that still fails after retries is reported and left out
     * of the job; the others go on.
     */
    public UploadReport upload(List<UploadItem> items, int concurrency, UploadListener listener) {
        if (items.isEmpty()) {
            throw new ImgscaleException("Nothing to upload: no image files were given.");
        }
        long start = clock.millis();
        String job = JobId.next(clock.instant());
        ObjectStore input = stack.input();
        stack.requests(); // opens the queue: fails early, before any upload, if the stack is missing
        long totalBytes = items.stream().mapToLong(UploadItem::size).sum();
        listener.started(items.size(), totalBytes);
        List<String> stored = Collections.synchronizedList(new ArrayList<>());
        List<UploadReport.Failure> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicLong bytes = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, concurrency), DaemonThreads.named("imgscale-upload"));
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (UploadItem item : items) {
                futures.add(pool.submit(() -> {
                    String error = retry("upload " + item.source(), () -> put(input, job, item));
                    if (error == null) {
                        stored.add(item.name());
                        bytes.addAndGet(item.size());
                        listener.uploaded(item);
                    } else {
                        failures.add(new UploadReport.Failure(item.source(), error));
                        listener.failed(item, error);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImgscaleException("Upload interrupted; job " + job + " is incomplete and no request was sent.", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("upload task failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
        List<String> names = new ArrayList<>(stored);
        Collections.sort(names);
        if (names.isEmpty()) {
            return new UploadReport(job, names, failures, 0, clock.millis() - start);
        }
        String manifestError = putManifest(job, clock.millis(), names);
        if (manifestError != null) {
            throw new ImgscaleException("The images of job " + job + " are stored but its manifest could not be written ("
                    + manifestError + "); no request was sent, so nothing will be processed. Try the upload again.");
        }
        listener.enqueueing(names.size());
        enqueue(job, names);
        return new UploadReport(job, names, failures, bytes.get(), clock.millis() - start);
    }

    // The steps of an upload, one at a time, for a caller that adds images to a job over time (the
    // web tier). The order that keeps a job consistent is the one upload() follows: store the
    // images, write a manifest that names them, and only then send their requests, because a worker
    // drops a request whose job has no manifest.

    /** A new job id; nothing is written until images are stored under it. */
    public String newJob() {
        return JobId.next(clock.instant());
    }

    /**
     * Stores one image of a job in the input bucket, retrying transient failures with backoff.
     *
     * @throws ImgscaleException when it still fails
     */
    public void store(String job, UploadItem item) {
        checkJob(job);
        String error = retry("upload " + item.source(), () -> put(stack.input(), job, item));
        if (error != null) {
            throw new ImgscaleException("Could not store " + item.name() + " in bucket " + stack.input().name() + ": " + error);
        }
    }

    /**
     * Writes (or rewrites, as a job grows) the job's manifest naming {@code images}, retrying
     * transient failures. Requests for an image may be sent once a manifest naming it is written.
     *
     * @throws ImgscaleException when it still fails
     */
    public void writeManifest(String job, long createdAt, List<String> images) {
        checkJob(job);
        String error = putManifest(job, createdAt, images);
        if (error != null) {
            throw new ImgscaleException("Could not write the manifest of job " + job + ": " + error);
        }
    }

    /** Sends one request per image (in batches of ten); the images must be stored and named by the manifest. */
    public void enqueue(String job, List<String> images) {
        checkJob(job);
        List<String> bodies = new ArrayList<>(images.size());
        long now = clock.millis();
        for (String name : images) {
            bodies.add(Json.write(ImageRequest.of(job, name, now)));
        }
        stack.requests().send(bodies);
    }

    /** Deletes stored images that will not be queued after all (their job could not take them). */
    public void discard(String job, List<String> images) {
        checkJob(job);
        List<String> keys = new ArrayList<>(images.size());
        for (String name : images) {
            keys.add(Keys.input(job, name));
        }
        deleteAll(stack.input(), keys);
    }

    /** The names of the job's images that have a result now: one listing, no result is read. */
    public List<String> resultNames(String job) {
        checkJob(job);
        List<String> names = new ArrayList<>();
        for (String key : stack.output().list(Keys.resultPrefix(job))) {
            String name = Keys.nameOfResult(job, key);
            if (name != null) {
                names.add(name);
            }
        }
        return names;
    }

    /** One image's result, if it exists and can be read. */
    public Optional<ResultRecord> result(String job, String name) {
        checkJob(job);
        return readResult(job, Keys.result(job, name));
    }

    /** Writes the manifest with retries; null on success, else why not. */
    private String putManifest(String job, long createdAt, List<String> images) {
        JobManifest manifest = new JobManifest(JobManifest.VERSION, job, createdAt, source(), images);
        return retry("write the job manifest", () -> stack.output().put(Keys.manifest(job), Json.bytes(manifest), "application/json"));
    }

    private static void put(ObjectStore store, String job, UploadItem item) {
        String key = Keys.input(job, item.name());
        String contentType = contentType(item.name());
        if (item.bytes() != null) {
            store.put(key, item.bytes(), contentType);
        } else {
            store.put(key, item.file(), contentType);
        }
    }

    public Optional<JobManifest> manifest(String job) {
        checkJob(job);
        return stack.output().get(Keys.manifest(job)).map(b -> Json.read(b, JobManifest.class));
    }

    /** The job's manifest, or a user error saying there is no such job. */
    public JobManifest requireManifest(String job) {
        return manifest(job).orElseThrow(() -> new ImgscaleException("There is no job " + job + " in stack "
                + stack.config().names().stack() + " (see `imgscale status` for recent jobs)."));
    }

    /** The results that exist now, in name order. */
    public List<ResultRecord> results(String job) {
        checkJob(job);
        Map<String, ResultRecord> byName = new TreeMap<>();
        for (String key : stack.output().list(Keys.resultPrefix(job))) {
            readResult(job, key).ifPresent(r -> byName.put(r.name(), r));
        }
        return new ArrayList<>(byName.values());
    }

    private Optional<ResultRecord> readResult(String job, String key) {
        if (Keys.nameOfResult(job, key) == null) {
            return Optional.empty();
        }
        try {
            return stack.output().get(key).map(b -> Json.read(b, ResultRecord.class));
        } catch (Json.MalformedRecordException e) {
            LOG.warn("Skipping {}: {}", key, e.getMessage());
            return Optional.empty();
        }
    }

    /** How following a job ended. */
    public record FollowOutcome(int total, int done, int failed, boolean complete) {
    }

    /**
     * Prints (through {@code sink}) every result of the job as it appears, each once, until every
     * image of the manifest has one, {@code stop} says so, or {@code timeout} passes (null: none).
     */
    public FollowOutcome follow(String job, Consumer<ResultRecord> sink, Duration poll, Duration timeout, BooleanSupplier stop) {
        JobManifest manifest = requireManifest(job);
        Set<String> expected = new HashSet<>(manifest.images());
        Set<String> seen = new HashSet<>();
        int failed = 0;
        long deadline = timeout == null ? Long.MAX_VALUE : clock.millis() + timeout.toMillis();
        long pause = Math.min(200, poll.toMillis());
        while (true) {
            List<String> fresh = new ArrayList<>();
            for (String key : stack.output().list(Keys.resultPrefix(job))) {
                String name = Keys.nameOfResult(job, key);
                if (name != null && !seen.contains(name)) {
                    fresh.add(key);
                }
            }
            fresh.sort(Comparator.naturalOrder());
            for (String key : fresh) {
                Optional<ResultRecord> r = readResult(job, key);
                if (r.isPresent() && seen.add(r.get().name())) {
                    if (!r.get().ok()) {
                        failed++;
                    }
                    sink.accept(r.get());
                }
            }
            boolean complete = seen.containsAll(expected);
            if (complete || stop.getAsBoolean() || clock.millis() >= deadline) {
                int done = (int) seen.stream().filter(expected::contains).count();
                return new FollowOutcome(expected.size(), done, failed, complete);
            }
            // poll quickly while results stream in, back off to `poll` when nothing comes
            pause = fresh.isEmpty() ? Math.min(poll.toMillis(), pause * 2) : 200;
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                int done = (int) seen.stream().filter(expected::contains).count();
                return new FollowOutcome(expected.size(), done, failed, false);
            }
        }
    }

    /** Recent jobs, newest first (job ids sort by time). */
    public List<String> recentJobs(int limit) {
        Set<String> jobs = new HashSet<>();
        for (String key : stack.output().list(Keys.JOBS)) {
            String rest = key.substring(Keys.JOBS.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                jobs.add(rest.substring(0, slash));
            }
        }
        List<String> sorted = new ArrayList<>(jobs);
        sorted.sort(Comparator.reverseOrder());
        return sorted.subList(0, Math.min(limit, sorted.size()));
    }

    /** A job's progress. */
    public record JobProgress(String job, long createdAt, int total, int done, int failed) {
    }

    public JobProgress progress(String job) {
        JobManifest manifest = requireManifest(job);
        List<ResultRecord> results = results(job);
        Set<String> names = new HashSet<>(manifest.images());
        int done = 0;
        int failed = 0;
        for (ResultRecord r : results) {
            if (names.contains(r.name())) {
                done++;
                if (!r.ok()) {
                    failed++;
                }
            }
        }
        return new JobProgress(job, manifest.createdAt(), manifest.total(), done, failed);
    }

    /** Queue depths of the stack. */
    public record QueueStatus(QueueDepth requests, QueueDepth deadLetters, QueueDepth results) {
    }

    public QueueStatus queues() {
        return new QueueStatus(stack.requests().depth(), stack.deadLetters().depth(), stack.results().depth());
    }

    /** What a reset removed. */
    public record ResetReport(int objectsDeleted, boolean queuesPurged) {
    }

    /**
     * Removes one job's images, results and manifest (its requests still queued are dropped by the
     * workers, which write no result for a job that no longer exists), or, with a null job,
     * everything: purges the queues and empties both buckets.
     */
    public ResetReport reset(String job) {
        int deleted = 0;
        if (job != null) {
            checkJob(job);
            // the manifest goes first: from then on a worker treats the job's requests as cancelled
            deleted += deleteAll(stack.output(), List.of(Keys.manifest(job)));
            deleted += deleteAll(stack.input(), stack.input().list(Keys.inputPrefix(job)));
            deleted += deleteAll(stack.output(), stack.output().list(Keys.resultPrefix(job)));
            deleted += deleteAll(stack.output(), stack.output().list(Keys.JOBS + job + "/"));
            return new ResetReport(deleted, false);
        }
        stack.requests().purge();
        stack.deadLetters().purge();
        stack.results().purge();
        deleted += deleteAll(stack.input(), stack.input().list(""));
        deleted += deleteAll(stack.output(), stack.output().list(""));
        return new ResetReport(deleted, true);
    }

    private static int deleteAll(ObjectStore store, List<String> keys) {
        if (!keys.isEmpty()) {
            store.delete(keys);
        }
        return keys.size();
    }

    private static void checkJob(String job) {
        if (!JobId.valid(job)) {
            throw new ImgscaleException("'" + job + "' is not a job id (they look like 20261123-235959-3f9a1c).");
        }
    }

    /** Runs the action up to four times with backoff; null on success, else the last error's message. */
    private static String retry(String what, Runnable action) {
        long backoff = 200;
        RuntimeException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                action.run();
                return null;
            } catch (ImgscaleException e) {
                return e.getMessage();
            } catch (RuntimeException e) {
                last = e;
                LOG.debug("Attempt {} to {} failed: {}", attempt, what, e.toString());
                if (attempt < ATTEMPTS) {
                    try {
                        Thread.sleep(backoff);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return "interrupted";
                    }
                    backoff *= 3;
                }
            }
        }
        return last.getMessage() == null ? last.getClass().getSimpleName() : last.getMessage();
    }

    static String contentType(String name) {
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (lower.endsWith(".jpg") || lower.endsWith(".jpeg") || lower.endsWith(".jpe")) {
            return "image/jpeg";
        }
        if (lower.endsWith(".png")) {
            return "image/png";
        }
        if (lower.endsWith(".bmp") || lower.endsWith(".dib")) {
            return "image/bmp";
        }
        if (lower.endsWith(".webp")) {
            return "image/webp";
        }
        if (lower.endsWith(".tif") || lower.endsWith(".tiff")) {
            return "image/tiff";
        }
        return "application/octet-stream";
    }

    private static String source() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return System.getProperty("user.name", "user") + "@" + host;
    }
}
