package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.cost.InstancePrices;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * What a user does with a stack, shared by the command line and the web tier: upload images as a
 * job ({@link JobUploads}), read and follow its results ({@link JobResults}), and look after the
 * stack ({@link StackAdmin}: queues, reset). Result objects in the output bucket are the source of
 * truth: reading never consumes anything, so any number of readers see the same results.
 */
@ThreadSafe
public final class JobClient {
    private final JobUploads uploads;
    private final JobResults results;
    private final StackAdmin admin;
    private final JobCosts costs;

    public JobClient(StackContext stack, Clock clock) {
        this.uploads = new JobUploads(stack, clock);
        this.results = new JobResults(stack, clock);
        this.costs = new JobCosts(stack.output(), clock);
        this.admin = new StackAdmin(stack);
    }

    // Uploading

    /**
     * Uploads the images as a new job in tar shards ({@link ShardUpload}): one version-2 request per
     * image, naming its shard and byte range, sent once its shard is stored. {@code items} is read
     * twice (names first, then the files), so it may be a walk that holds nothing; an item's
     * {@code name} is its relative path, made unique here. An image that cannot be read, or whose
     * shard still fails after retries, is reported and left out of the job; the others go on.
     *
     * @throws dev.imgscale.classifier.ImgscaleException when a live worker is of a release that
     *         cannot read the requests (nothing is uploaded), or the stack is missing
     */
    public UploadReport upload(Iterable<UploadItem> items, int concurrency, UploadListener listener) {
        return uploads.upload(items, concurrency, listener);
    }

    // The steps of an upload, one at a time, for a caller that adds images to a job over time (the
    // web tier), in the order upload() follows: store, write the manifest, then enqueue.

    /** A new job id; nothing is written until images are stored under it. */
    public String newJob() {
        return uploads.newJob();
    }

    /**
     * Stores one image of a job in the input bucket, retrying transient failures with backoff.
     *
     * @throws ImgscaleException when it still fails
     */
    public void store(String job, UploadItem item) {
        uploads.store(job, item);
    }

    /**
     * Writes (or rewrites, as a job grows) the job's manifest naming {@code images}, retrying
     * transient failures. Requests for an image may be sent once a manifest naming it is written.
     *
     * @throws ImgscaleException when it still fails
     */
    public void writeManifest(String job, long createdAt, List<String> images) {
        uploads.writeManifest(job, createdAt, images);
    }

    /** Sends one request per image (in batches of ten); the images must be stored and named by the manifest. */
    public void enqueue(String job, List<String> images) {
        uploads.enqueue(job, images);
    }

    /** Deletes stored images that will not be queued after all (their job could not take them). */
    public void discard(String job, List<String> images) {
        uploads.discard(job, images);
    }

    // Reading and following

    /** The job's result objects and what their keys say: one listing, no result is read. */
    public ResultListing listing(String job) {
        return results.listing(job);
    }

    /** The rows of one result object of the job (a batch, or a per-image result), in its order; none if it is gone. */
    public List<ResultRecord> read(String job, String key) {
        return results.read(job, key);
    }

    public Optional<JobManifest> manifest(String job) {
        return results.manifest(job);
    }

    /** The job's manifest, or a user error saying there is no such job. */
    public JobManifest requireManifest(String job) {
        return results.requireManifest(job);
    }

    /** The results that exist now, one per image, in name order (all in memory: for small jobs; see {@link #readAll}). */
    public List<ResultRecord> results(String job) {
        return results.results(job);
    }

    /**
     * Streams the job's results that exist now to {@code sink}, one row per image name (the first
     * in key order when a redelivery wrote an image twice), object by object in key order, and
     * runs {@code afterObject} after each object's rows; returns the exact progress. Holds the
     * names given (to drop second rows) and a few objects, never every row.
     */
    public JobProgress readAll(JobManifest manifest, Consumer<ResultRecord> sink, Runnable afterObject) {
        return results.readAll(manifest, sink, afterObject);
    }

    /**
     * Prints (through {@code sink}) every result of the job as it appears, one row per image name,
     * until the job is sealed and every image has one, {@code stop} says so, or {@code timeout} passes (null: none);
     * returns how far the job got.
     */
    public JobProgress follow(String job, Consumer<ResultRecord> sink, Duration poll, Duration timeout, BooleanSupplier stop) {
        return results.follow(job, sink, poll, timeout, stop);
    }

    /** Recent jobs, newest first (job ids sort by time). */
    /**
     * What each job cost from its creation to its last result (or now while it runs), from the
     * workers' usage records, read once for all of them; see {@link JobCost}.
     *
     * @return by job id, in the order asked
     */
    public Map<String, JobCost> costs(List<JobCost.Query> jobs, InstancePrices prices, RequestPrices requestPrices) {
        jobs.forEach(q -> Jobs.check(q.job()));
        return costs.costs(jobs, RequestCounts.EMPTY, prices, requestPrices);
    }

    public List<String> recentJobs(int limit) {
        return results.recentJobs(limit);
    }

    /**
     * The progress of the job of this manifest from one listing of its results (the counts in the
     * batch keys), or the exact counts a reader stored; {@link JobProgress#exact()} says which.
     */
    public JobProgress progress(JobManifest manifest) {
        return results.progress(manifest);
    }

    // Looking after the stack

    /** Queue depths of the stack. */
    public record QueueStatus(QueueDepth requests, QueueDepth deadLetters, QueueDepth results) {
    }

    public QueueStatus queues() {
        return admin.queues();
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
        return admin.reset(job);
    }
}
