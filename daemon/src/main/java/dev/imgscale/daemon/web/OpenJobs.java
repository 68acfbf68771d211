package dev.imgscale.daemon.web;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.client.JobClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jobs this server is still adding images to: the shared, rolling job of the compatibility
 * endpoint ({@code POST /}) and the jobs the page creates and fills one file at a time.
 *
 * <p>Adding images to a job that workers may already be working on must keep the order a worker
 * relies on: an image is stored, then a manifest naming it is written, and only then is its request
 * sent (a worker drops a request whose job has no manifest). Done naively per request, 100
 * concurrent uploads would write the manifest 100 times and send 100 single messages. Here the
 * requests' images are stored by the requests' own threads, and one committer thread then writes
 * the manifest once for everything that arrived meanwhile and sends the requests in batches of ten
 * (a group commit): under load the commits grow, not their number, and an idle server commits a
 * single image at once.
 */
final class OpenJobs implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpenJobs.class);
    /** A page's job no image was added to for this long is closed: later additions get a 404. */
    private static final Duration IDLE_CLOSE = Duration.ofHours(2);

    /** A job images can still be added to. */
    static final class OpenJob {
        final String id;
        final long createdAt;
        final boolean rolling;
        private final ImageNames names = new ImageNames();
        /** Names handed out, guarded by the OpenJobs instance. */
        private int reserved;
        /** Named by the manifest with their requests sent; replaced (never changed) by the committer thread. */
        private volatile List<String> committed = List.of();
        private volatile long lastUsed;
        private volatile boolean closed;

        OpenJob(String id, long createdAt, boolean rolling) {
            this.id = id;
            this.createdAt = createdAt;
            this.rolling = rolling;
            this.lastUsed = createdAt;
        }

        /** Images named by the manifest so far. */
        int committed() {
            return committed.size();
        }
    }

    /** A name given to one image within a job. */
    record Reservation(OpenJob job, String name) {
    }

    private record Pending(OpenJob job, List<String> names, CompletableFuture<Void> done) {
    }

    private final JobClient client;
    private final Clock clock;
    private final int rollAfter;
    private final Map<String, OpenJob> jobs = new ConcurrentHashMap<>();
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread committer;
    private OpenJob rolling;
    private volatile boolean stopping;

    /** Commits made and images they carried, for the log and tests. */
    private volatile long commits;
    private volatile long committedImages;

    OpenJobs(JobClient client, Clock clock, int rollAfter) {
        this.client = client;
        this.clock = clock;
        this.rollAfter = rollAfter;
        this.committer = DaemonThreads.start("imgscale-web-commit", this::run);
    }

    /** A new job for the page; nothing is written until its first image is committed. */
    synchronized OpenJob create() {
        long now = clock.millis();
        jobs.values().removeIf(j -> !j.rolling && now - j.lastUsed > IDLE_CLOSE.toMillis());
        OpenJob job = new OpenJob(client.newJob(), now, false);
        jobs.put(job.id, job);
        return job;
    }

    Optional<OpenJob> find(String id) {
        OpenJob job = jobs.get(id);
        return job == null || job.closed ? Optional.empty() : Optional.of(job);
    }

    /** A name for one more image of the shared job of {@code POST /}, which rolls over every {@code rollAfter} images. */
    synchronized Reservation reserveRolling(String fileName) {
        if (rolling == null || rolling.closed || rolling.reserved >= rollAfter) {
            if (rolling != null) {
                // full, not closed: images already reserved in it are still committed to it
                jobs.remove(rolling.id);
            }
            rolling = new OpenJob(client.newJob(), clock.millis(), true);
            jobs.put(rolling.id, rolling);
            LOG.info("Images posted to / now go to job {}", rolling.id);
        }
        return reserve(rolling, fileName);
    }

    /** A unique name within the job for an image sent as {@code fileName}. */
    synchronized Reservation reserve(OpenJob job, String fileName) {
        if (job.closed) {
            throw new HttpError(404, "Job " + job.id + " takes no more images (it was reset or closed): create a new job.");
        }
        job.reserved++;
        job.lastUsed = clock.millis();
        return new Reservation(job, job.names.unique(fileName));
    }

    /**
     * Names the stored images in the job's manifest and sends their requests, together with whatever
     * else is waiting. The future fails (and the images are deleted again) when that cannot be done.
     */
    CompletableFuture<Void> commit(OpenJob job, List<String> names) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (stopping) {
            done.completeExceptionally(new ImgscaleException("The server is stopping."));
            return done;
        }
        queue.add(new Pending(job, List.copyOf(names), done));
        return done;
    }

    /** The job was reset: it takes no more images. */
    synchronized void forget(String id) {
        OpenJob job = jobs.remove(id);
        if (job != null) {
            job.closed = true;
        }
        if (rolling != null && rolling.id.equals(id)) {
            rolling = null;
        }
    }

    /** Everything was reset. */
    synchronized void forgetAll() {
        jobs.values().forEach(j -> j.closed = true);
        jobs.clear();
        rolling = null;
    }

    long commits() {
        return commits;
    }

    long committedImages() {
        return committedImages;
    }

    private void run() {
        List<Pending> batch = new ArrayList<>();
        while (!stopping || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
            } catch (InterruptedException e) {
                if (stopping) {
                    break;
                }
                continue;
            }
            queue.drainTo(batch);
            Map<OpenJob, List<Pending>> byJob = new LinkedHashMap<>();
            for (Pending p : batch) {
                byJob.computeIfAbsent(p.job(), j -> new ArrayList<>()).add(p);
            }
            batch.clear();
            byJob.forEach(this::commitJob);
        }
        failAll(new ImgscaleException("The server stopped before the image was queued."));
    }

    /** One manifest write and the requests for every image that waits on this job. On the committer thread only. */
    private void commitJob(OpenJob job, List<Pending> pending) {
        List<String> fresh = new ArrayList<>();
        for (Pending p : pending) {
            fresh.addAll(p.names());
        }
        if (job.closed) {
            // reset while its images were being stored: what they left is deleted, and they are refused
            discardQuietly(job, fresh);
            fail(pending, new HttpError(410, "Job " + job.id + " was reset while the image was being added."));
            return;
        }
        List<String> before = job.committed;
        List<String> all = new ArrayList<>(before.size() + fresh.size());
        all.addAll(before);
        all.addAll(fresh);
        try {
            client.writeManifest(job.id, job.createdAt, all);
        } catch (RuntimeException e) {
            LOG.warn("Could not write the manifest of job {} for {} new image(s): {}", job.id, fresh.size(), e.getMessage());
            discardQuietly(job, fresh);
            fail(pending, e);
            return;
        }
        try {
            client.enqueue(job.id, fresh);
        } catch (RuntimeException e) {
            // The manifest now names images without requests: name them no more and drop them, so the
            // job does not wait forever for results that will not come.
            LOG.warn("Could not queue {} image(s) of job {}: {}", fresh.size(), job.id, e.getMessage());
            try {
                if (before.isEmpty()) {
                    client.reset(job.id);
                } else {
                    client.writeManifest(job.id, job.createdAt, before);
                }
            } catch (RuntimeException again) {
                LOG.warn("Could not take the images back out of job {}: {}", job.id, again.getMessage());
            }
            discardQuietly(job, fresh);
            fail(pending, e);
            return;
        }
        job.committed = List.copyOf(all);
        commits++;
        committedImages += fresh.size();
        LOG.debug("Job {}: {} image(s) queued in one commit ({} in all)", job.id, fresh.size(), all.size());
        for (Pending p : pending) {
            p.done().complete(null);
        }
    }

    private void discardQuietly(OpenJob job, List<String> names) {
        try {
            client.discard(job.id, names);
        } catch (RuntimeException e) {
            LOG.warn("Could not delete {} image(s) of job {} that were not queued: {}", names.size(), job.id, e.getMessage());
        }
    }

    private static void fail(List<Pending> pending, Throwable e) {
        for (Pending p : pending) {
            p.done().completeExceptionally(e);
        }
    }

    private void failAll(Throwable e) {
        List<Pending> left = new ArrayList<>();
        queue.drainTo(left);
        fail(left, e);
    }

    /** Commits what is already waiting, then stops. */
    @Override
    public void close() {
        stopping = true;
        try {
            committer.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        failAll(new ImgscaleException("The server stopped before the image was queued."));
    }
}
