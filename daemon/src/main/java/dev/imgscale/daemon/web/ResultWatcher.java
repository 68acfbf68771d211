package dev.imgscale.daemon.web;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the output bucket for the results that the server's clients wait for, with one thread for
 * all of them: each poll lists a watched job's result keys once (one S3 LIST per job, however many
 * requests wait on it), reads only the results someone waits for or streams, and completes their
 * futures. A request that waits therefore holds no thread, and a thousand waiting requests cost the
 * bucket what one does.
 *
 * <p>Two kinds of interest keep a job watched: a waiter for one image (the compatibility endpoint),
 * completed with that image's result; and a {@link Subscriber} (a page's event stream), sent every
 * result of the job once, then each new one, with the job's progress. Result objects stay the
 * source of truth: nothing is consumed, so other readers ({@code imgscale results}) see the same.
 *
 * <p>Polls come every {@value #FAST_MS} ms while results arrive, slowing to {@value #SLOW_WAITING_MS} ms
 * when requests wait but nothing comes, and to {@value #SLOW_STREAMING_MS} ms when only streams watch.
 */
final class ResultWatcher implements AutoCloseable {
    static final long FAST_MS = 100;
    static final long SLOW_WAITING_MS = 250;
    static final long SLOW_STREAMING_MS = 1000;
    private static final long TOTAL_REFRESH_MS = 3000;
    private static final Logger LOG = LoggerFactory.getLogger(ResultWatcher.class);

    /** Hears one job's results; called on the watcher's thread, in order, each result once. */
    interface Subscriber {
        void result(ResultRecord record);

        void progress(JobProgress progress);

        /** The job was reset: nothing more will come. */
        void gone();

        /** False once the subscriber has gone away (its stream closed); it is then dropped. */
        default boolean open() {
            return true;
        }
    }

    /** A waiter's job was reset while it waited. */
    static final class JobGoneException extends ImgscaleException {
        private static final long serialVersionUID = 1L;

        JobGoneException(String job) {
            super("Job " + job + " was reset while its images were waiting for results.");
        }
    }

    /** One watched job. Its fields are touched on the watcher thread, except where guarded by the instance. */
    private static final class Watched {
        final String job;
        /** Image name to the futures waiting for its result; guarded by this. */
        final Map<String, List<CompletableFuture<ResultRecord>>> waiters = new HashMap<>();
        /** Subscribers not yet sent the job's state; guarded by this. */
        final List<Subscriber> joining = new ArrayList<>();
        final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
        /** Results read so far, kept while the job has subscribers. */
        final Map<String, ResultRecord> records = new HashMap<>();
        int failed;
        int total = -1;
        long totalReadAt;
        long warnedAt;
        JobProgress sent;

        Watched(String job) {
            this.job = job;
        }

        synchronized boolean idle() {
            return waiters.isEmpty() && joining.isEmpty() && subscribers.isEmpty();
        }
    }

    private final JobClient client;
    private final Function<String, OptionalInt> openTotals;
    private final Map<String, Watched> jobs = new ConcurrentHashMap<>();
    private final ExecutorService readers;
    private final Thread loop;
    private volatile boolean stopping;
    private volatile boolean woken;
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile long polls;
    private volatile long lists;

    /**
     * @param openTotals the image count of a job this server is still adding to (its manifest grows),
     *                   empty for any other job, whose manifest is read instead
     */
    ResultWatcher(JobClient client, Function<String, OptionalInt> openTotals) {
        this.client = client;
        this.openTotals = openTotals;
        this.readers = Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "imgscale-web-read");
            t.setDaemon(true);
            return t;
        });
        this.loop = new Thread(this::run, "imgscale-web-watch");
        loop.setDaemon(true);
        loop.start();
    }

    /**
     * The result of one image, when it exists. Register before the image's request is sent, so the
     * result cannot come unseen. The future fails with a {@link TimeoutException} after
     * {@code timeout}, with {@link JobGoneException} when the job is reset, and may be cancelled.
     */
    CompletableFuture<ResultRecord> await(String job, String name, Duration timeout) {
        CompletableFuture<ResultRecord> future = new CompletableFuture<>();
        jobs.compute(job, (k, w) -> {
            Watched watched = w == null ? new Watched(job) : w;
            synchronized (watched) {
                watched.waiters.computeIfAbsent(name, n -> new ArrayList<>(1)).add(future);
            }
            return watched;
        });
        waiting.incrementAndGet();
        future.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
            waiting.decrementAndGet();
            if (e != null) {
                forget(job, name, future);
            }
        });
        wake();
        return future;
    }

    /** Streams the job's results to the subscriber, starting with those that exist. */
    void subscribe(String job, Subscriber subscriber) {
        jobs.compute(job, (k, w) -> {
            Watched watched = w == null ? new Watched(job) : w;
            synchronized (watched) {
                watched.joining.add(subscriber);
            }
            return watched;
        });
        wake();
    }

    void unsubscribe(String job, Subscriber subscriber) {
        Watched watched = jobs.get(job);
        if (watched != null) {
            synchronized (watched) {
                watched.joining.remove(subscriber);
            }
            watched.subscribers.remove(subscriber);
        }
    }

    /** The job was reset: its waiters fail with {@link JobGoneException} and its subscribers hear it. */
    void gone(String job) {
        Watched watched = jobs.remove(job);
        if (watched != null) {
            end(watched);
        }
    }

    /** Everything was reset. */
    void goneAll() {
        for (String job : List.copyOf(jobs.keySet())) {
            gone(job);
        }
    }

    /** What the watcher knows of a job it watches, or empty. */
    Optional<JobProgress> progress(String job) {
        Watched watched = jobs.get(job);
        return watched == null ? Optional.empty() : Optional.ofNullable(watched.sent);
    }

    /** Requests waiting now. */
    int waiting() {
        return waiting.get();
    }

    /** Polls made, and S3 listings they cost. */
    long polls() {
        return polls;
    }

    long lists() {
        return lists;
    }

    private void end(Watched watched) {
        List<CompletableFuture<ResultRecord>> futures = new ArrayList<>();
        List<Subscriber> subscribers = new ArrayList<>(watched.subscribers);
        synchronized (watched) {
            watched.waiters.values().forEach(futures::addAll);
            watched.waiters.clear();
            subscribers.addAll(watched.joining);
            watched.joining.clear();
        }
        watched.subscribers.clear();
        for (CompletableFuture<ResultRecord> f : futures) {
            f.completeExceptionally(new JobGoneException(watched.job));
        }
        for (Subscriber s : subscribers) {
            safely(() -> s.gone());
        }
    }

    private void forget(String job, String name, CompletableFuture<ResultRecord> future) {
        Watched watched = jobs.get(job);
        if (watched == null) {
            return;
        }
        synchronized (watched) {
            List<CompletableFuture<ResultRecord>> list = watched.waiters.get(name);
            if (list != null) {
                list.remove(future);
                if (list.isEmpty()) {
                    watched.waiters.remove(name);
                }
            }
        }
    }

    private void wake() {
        woken = true;
        LockSupport.unpark(loop);
    }

    private void run() {
        long interval = FAST_MS;
        while (!stopping) {
            boolean fresh = false;
            boolean waitersPresent = false;
            for (Watched watched : List.copyOf(jobs.values())) {
                // drop a job nobody watches any more; compute() makes this atomic with a new registration
                jobs.computeIfPresent(watched.job, (k, w) -> w.idle() ? null : w);
                if (!jobs.containsKey(watched.job)) {
                    continue;
                }
                try {
                    fresh |= poll(watched);
                } catch (RuntimeException e) {
                    // once a minute per job: polls come several times a second
                    if (System.currentTimeMillis() - watched.warnedAt > 60_000) {
                        watched.warnedAt = System.currentTimeMillis();
                        LOG.warn("Cannot read the results of job {} (trying again): {}", watched.job, e.toString());
                    }
                }
                synchronized (watched) {
                    waitersPresent |= !watched.waiters.isEmpty();
                }
            }
            polls++;
            if (fresh || woken) {
                interval = FAST_MS;
            } else {
                interval = Math.min(interval * 2, waitersPresent ? SLOW_WAITING_MS : SLOW_STREAMING_MS);
            }
            woken = false;
            if (jobs.isEmpty()) {
                // nothing to watch: sleep until a registration wakes us
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(5));
            } else {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(interval));
            }
        }
    }

    /** One poll of one job; true when a result came that was not seen before. */
    private boolean poll(Watched watched) {
        List<Subscriber> joining;
        Set<String> awaited;
        synchronized (watched) {
            joining = new ArrayList<>(watched.joining);
            watched.joining.clear();
            awaited = new HashSet<>(watched.waiters.keySet());
        }
        // a stream that closed while it was joining is still listed: drop it here
        watched.subscribers.removeIf(s -> !s.open());
        joining.removeIf(s -> !s.open());
        boolean streaming = !joining.isEmpty() || !watched.subscribers.isEmpty();
        if (!streaming) {
            watched.records.clear();
            watched.failed = 0;
        }
        List<String> listed = client.resultNames(watched.job);
        lists++;
        List<String> toRead = new ArrayList<>();
        for (String name : listed) {
            if (streaming ? !watched.records.containsKey(name) : awaited.contains(name)) {
                toRead.add(name);
            }
        }
        List<ResultRecord> read = read(watched.job, toRead);
        List<ResultRecord> news = new ArrayList<>();
        for (ResultRecord r : read) {
            if (streaming && watched.records.put(r.name(), r) == null) {
                news.add(r);
                if (!r.ok()) {
                    watched.failed++;
                }
            }
            List<CompletableFuture<ResultRecord>> futures;
            synchronized (watched) {
                futures = watched.waiters.remove(r.name());
            }
            if (futures != null) {
                futures.forEach(f -> f.complete(r));
            }
        }
        if (streaming) {
            // a waiter for an image whose result the stream already read
            for (String name : awaited) {
                ResultRecord known = watched.records.get(name);
                List<CompletableFuture<ResultRecord>> futures = null;
                if (known != null) {
                    synchronized (watched) {
                        futures = watched.waiters.remove(name);
                    }
                }
                if (futures != null) {
                    futures.forEach(f -> f.complete(known));
                }
            }
            for (Subscriber s : watched.subscribers) {
                for (ResultRecord r : news) {
                    safely(() -> s.result(r));
                }
            }
            for (Subscriber s : joining) {
                for (ResultRecord r : watched.records.values()) {
                    safely(() -> s.result(r));
                }
            }
            JobProgress progress = new JobProgress(watched.job, total(watched, listed.size()), listed.size(), watched.failed);
            boolean changed = !progress.equals(watched.sent);
            watched.sent = progress;
            for (Subscriber s : changed ? watched.subscribers : Set.<Subscriber>of()) {
                safely(() -> s.progress(progress));
            }
            for (Subscriber s : joining) {
                safely(() -> s.progress(progress));
            }
            watched.subscribers.addAll(joining);
        }
        return !read.isEmpty();
    }

    /** The job's image count: this server's own count for a job it is adding to, else its manifest's (re-read now and then). */
    private int total(Watched watched, int done) {
        OptionalInt open = openTotals.apply(watched.job);
        if (open.isPresent()) {
            watched.total = open.getAsInt();
            return watched.total;
        }
        long now = System.currentTimeMillis();
        if (watched.total < 0 || done > watched.total || now - watched.totalReadAt > TOTAL_REFRESH_MS && done < watched.total) {
            watched.totalReadAt = now;
            try {
                watched.total = client.manifest(watched.job).map(JobManifest::total).orElse(watched.total);
            } catch (RuntimeException e) {
                LOG.debug("Cannot read the manifest of job {}: {}", watched.job, e.toString());
            }
        }
        return Math.max(watched.total, 0);
    }

    /** Reads the results concurrently; one that cannot be read now is read at a later poll. */
    private List<ResultRecord> read(String job, List<String> names) {
        if (names.isEmpty()) {
            return List.of();
        }
        List<Future<Optional<ResultRecord>>> futures = new ArrayList<>(names.size());
        for (String name : names) {
            futures.add(readers.submit(() -> client.result(job, name)));
        }
        List<ResultRecord> out = new ArrayList<>(names.size());
        for (Future<Optional<ResultRecord>> f : futures) {
            try {
                f.get(30, TimeUnit.SECONDS).ifPresent(out::add);
            } catch (ExecutionException | TimeoutException e) {
                LOG.debug("Cannot read a result of job {}: {}", job, e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return out;
            }
        }
        return out;
    }

    private static void safely(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.debug("A subscriber failed: {}", e.toString());
        }
    }

    /** Stops polling; what still waits fails with the given reason. */
    void close(Throwable reason) {
        stopping = true;
        LockSupport.unpark(loop);
        try {
            loop.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        readers.shutdownNow();
        for (Watched watched : List.copyOf(jobs.values())) {
            List<CompletableFuture<ResultRecord>> futures = new ArrayList<>();
            synchronized (watched) {
                watched.waiters.values().forEach(futures::addAll);
                watched.waiters.clear();
            }
            futures.forEach(f -> f.completeExceptionally(reason));
        }
        jobs.clear();
    }

    @Override
    public void close() {
        close(new ImgscaleException("The server is stopping."));
    }
}
