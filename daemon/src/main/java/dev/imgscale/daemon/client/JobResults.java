package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.DistinctNames;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.JobSummary;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reading a stack's jobs: manifests, results, progress, and following a job to its end. Result
 * objects are the source of truth and reading consumes nothing, so any number of readers see the
 * same results. Both result formats are read: batches of JSON Lines ({@code ResultBatch}) and the
 * previous release's one object per image; every reader gives one row per image name.
 */
@ThreadSafe
final class JobResults {
    private static final Logger LOG = LoggerFactory.getLogger(JobClient.class);

    private final Supplier<ObjectStore> output;
    private final Supplier<String> stackName;
    private final Clock clock;

    JobResults(StackContext stack, Clock clock) {
        this(stack::output, () -> stack.config().names().stack(), clock);
    }

    /** Over any output bucket (the unit tests' in-memory one). */
    JobResults(Supplier<ObjectStore> output, Supplier<String> stackName, Clock clock) {
        this.output = output;
        this.stackName = stackName;
        this.clock = clock;
    }

    ResultListing listing(String job) {
        Jobs.check(job);
        return ResultListing.of(output.get(), job);
    }

    List<ResultRecord> read(String job, String key) {
        Jobs.check(job);
        return ResultObjects.read(output.get(), job, key);
    }

    Optional<JobManifest> manifest(String job) {
        Jobs.check(job);
        return output.get().get(Keys.manifest(job)).map(b -> Json.read(b, JobManifest.class).requireReadable());
    }

    JobManifest requireManifest(String job) {
        return manifest(job).orElseThrow(() -> new ImgscaleException("There is no job " + job + " in stack "
                + stackName.get() + " (see `imgscale status` for recent jobs)."));
    }

    List<ResultRecord> results(String job) {
        Jobs.check(job);
        List<ResultRecord> rows = new ArrayList<>();
        ResultObjects.forEachRow(output.get(), job, listing(job).keys(), new DistinctNames(), rows::add, () -> { });
        rows.sort(Comparator.comparing(ResultRecord::name));
        return rows;
    }

    /** See {@link JobClient#readAll}. */
    JobProgress readAll(JobManifest manifest, Consumer<ResultRecord> sink, Runnable afterObject) {
        String job = manifest.job();
        ResultListing listing = listing(job);
        DistinctNames seen = new DistinctNames();
        int[] failed = {0};
        ResultObjects.forEachRow(output.get(), job, listing.keys(), seen, r -> {
            failed[0] += r.ok() ? 0 : 1;
            sink.accept(r);
        }, afterObject);
        JobProgress progress = new JobProgress(job, manifest.count(), seen.size(), failed[0]);
        remember(progress, listing);
        return progress;
    }

    /** See {@link JobClient#follow}. */
    JobProgress follow(String job, Consumer<ResultRecord> sink, Duration poll, Duration timeout, BooleanSupplier stop) {
        JobManifest manifest = requireManifest(job);
        Set<String> read = new HashSet<>();
        DistinctNames seen = new DistinctNames();
        int failed = 0;
        long deadline = timeout == null ? Long.MAX_VALUE : clock.millis() + timeout.toMillis();
        long pause = Math.min(200, poll.toMillis());
        while (true) {
            if (!manifest.sealed()) {
                // still being uploaded: its total comes when it is sealed
                manifest = manifest(job).orElse(manifest);
            }
            ResultListing listing = listing(job);
            List<String> fresh = listing.unread(read).toList();
            int[] failedNow = {0};
            ResultObjects.forEachRow(output.get(), job, fresh, seen, r -> {
                failedNow[0] += r.ok() ? 0 : 1;
                sink.accept(r);
            }, () -> { });
            read.addAll(fresh);
            failed += failedNow[0];
            JobProgress progress = new JobProgress(job, manifest.count(), seen.size(), failed);
            if (progress.complete()) {
                remember(progress, listing);
                return progress;
            }
            if (stop.getAsBoolean() || clock.millis() >= deadline) {
                return progress;
            }
            pause = nextPause(pause, !fresh.isEmpty(), listing.objects(), poll.toMillis());
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return progress;
            }
        }
    }

    /**
     * How long a follower waits before it lists the job's results again: 200 ms while new objects
     * come, doubling to {@code poll} while none does; and, since a listing is a request per 1,000
     * keys, at least {@code poll} per page past the first, so that following a job of a million
     * images (10,000 objects, ten pages a listing) costs about a request a {@code poll}, as a small
     * one does, where polling at the small job's pace would send ten a second (and on the local
     * stack keep its S3 busy walking them).
     */
    static long nextPause(long pause, boolean fresh, int objects, long poll) {
        long quick = fresh ? Math.min(200, poll) : Math.min(poll, pause * 2);
        long pages = Math.max(1, (objects + 999L) / 1000);
        return Math.max(quick, (pages - 1) * poll);
    }

    /**
     * After reading a complete job exactly: stores its counts ({@code jobs/<job>/summary.json}) unless
     * the same are stored already, so that {@code status} reads one small object for it from then on
     * instead of listing its results (see {@link #progress}).
     */
    private void remember(JobProgress exact, ResultListing listing) {
        if (!exact.complete()) {
            return;
        }
        Optional<JobSummary> stored = summary(exact.job());
        if (stored.isPresent() && stored.get().total() == exact.total() && stored.get().done() == exact.done()
                && stored.get().failed() == exact.failed()) {
            return;
        }
        store(exact, listing);
    }

    private void store(JobProgress exact, ResultListing listing) {
        try {
            output.get().put(Keys.summary(exact.job()), Json.bytes(new JobSummary(JobSummary.VERSION, exact.job(), exact.total(),
                    exact.done(), exact.failed(), listing.objects())), "application/json");
        } catch (RuntimeException e) {
            LOG.debug("Could not store the summary of job {}: {}", exact.job(), e.toString());
        }
    }

    List<String> recentJobs(int limit) {
        Set<String> jobs = new HashSet<>();
        for (String key : output.get().list(Keys.JOBS)) {
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

    /**
     * The job's progress. A finished job's counts are final (a late copy of a row changes no name's
     * count), so once a reader has stored them ({@link JobSummary}: the first reader to see the job
     * finished does, {@code status} included) they are one small GET, whatever the job's size.
     * Otherwise one listing of its results: the counts in the batch keys, exact when no row was
     * redelivered (a request the client sent twice, rare, still counts twice: capped at the total),
     * else marked inexact (at most the redelivered rows too high) until a reader has read every row.
     * A job with per-image results (the previous release) has its rows read, as before, for their
     * errors.
     */
    JobProgress progress(JobManifest manifest) {
        String job = manifest.job();
        int total = manifest.count();
        if (total > 0) {
            Optional<JobSummary> summary = summary(job);
            if (summary.isPresent() && summary.get().total() == total && summary.get().done() >= total) {
                return new JobProgress(job, total, summary.get().done(), summary.get().failed());
            }
        }
        ResultListing listing = listing(job);
        JobProgress progress;
        if (listing.perImage() > 0) {
            DistinctNames seen = new DistinctNames();
            int[] failed = {0};
            ResultObjects.forEachRow(output.get(), job, listing.keys(), seen, r -> failed[0] += r.ok() ? 0 : 1, () -> { });
            progress = new JobProgress(job, total, seen.size(), failed[0]);
        } else {
            int done = total >= 0 ? Math.min(listing.rows(), total) : listing.rows();
            progress = new JobProgress(job, total, done, Math.min(listing.errors(), done), listing.exact());
        }
        if (progress.complete()) {
            store(progress, listing); // no summary was stored (read above): this reader is the first
        }
        return progress;
    }

    private Optional<JobSummary> summary(String job) {
        try {
            return output.get().get(Keys.summary(job)).map(b -> Json.read(b, JobSummary.class));
        } catch (RuntimeException e) {
            LOG.debug("Could not read the summary of job {}: {}", job, e.toString());
            return Optional.empty();
        }
    }
}
