package dev.imgscale.daemon.web;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Duration;
import java.util.ArrayList;
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
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the output bucket for the results that the server's clients wait for, with one thread for
 * all of them: each poll lists a watched job's result objects once (one S3 LIST per job, however
 * many requests wait on it), reads each new object once (a batch of many images, or one image's
 * result written by the previous release), keeps one row per image name (the first read, when a
 * redelivery wrote an image twice), and completes the futures of those waiting. A request that waits therefore holds no thread, and a thousand waiting requests cost the
 * bucket what one does.
 *
 * <p>Two kinds of interest keep a job watched: a waiter for one image (the compatibility endpoint),
 * completed with that image's result; and a {@link ResultSubscriber} (a page's event stream), sent every
 * result of the job once, then each new one, with the job's progress. Result objects stay the
 * source of truth: nothing is consumed, so other readers ({@code imgscale results}) see the same.
 *
 * <p>Memory stays bounded whatever the job's size: see {@link WatchedJob}, the state of one
 * watched job. All of a job's rows are for {@code GET /api/jobs/ID/results}, which streams them
 * from the bucket.
 *
 * <p>Polls come every {@value #FAST_MS} ms while results arrive, slowing to {@value #SLOW_WAITING_MS} ms
 * when requests wait but nothing comes, and to {@value #SLOW_STREAMING_MS} ms when only streams watch.
 *
 * <p>Time is the injected {@link Time}'s: waiters' deadlines are checked at each poll, the loop
 * pauses in {@link Time#waitOn}, and {@link #pollOnce()} is the loop's body, so a test drives the
 * watcher in fake time, poll by poll or by advancing the time under its thread.
 */
final class ResultWatcher implements AutoCloseable {
    static final long FAST_MS = 100;
    static final long SLOW_WAITING_MS = 250;
    static final long SLOW_STREAMING_MS = 1000;
    static final long TOTAL_REFRESH_MS = 3000;
    /** With nothing watched the loop sleeps until a registration wakes it; this bounds a missed wake-up. */
    static final long IDLE_MS = 5000;
    private static final Logger LOG = LoggerFactory.getLogger(ResultWatcher.class);

    private final ResultSource source;
    private final Function<String, OptionalInt> openTotals;
    private final Time time;
    /** The loop pauses on it; a registration notifies it. */
    private final Object signal = new Object();
    private final Map<String, WatchedJob> jobs = new ConcurrentHashMap<>();
    private final ExecutorService readers;
    private final Thread loop;
    private volatile boolean stopping;
    private volatile boolean woken;
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile long polls;
    private volatile long lists;
    private long interval = FAST_MS;

    /**
     * A watcher polling on a thread of its own.
     *
     * @param openTotals the image count of a job this server is still adding to (its manifest grows),
     *                   empty for any other job, whose manifest is read instead
     */
    static ResultWatcher start(ResultSource source, Function<String, OptionalInt> openTotals, Time time) {
        ResultWatcher watcher = new ResultWatcher(source, openTotals, time, true);
        watcher.loop.start();
        return watcher;
    }

    /** A watcher whose polls the caller makes with {@link #pollOnce()} (tests, in fake time). */
    static ResultWatcher manual(ResultSource source, Function<String, OptionalInt> openTotals, Time time) {
        return new ResultWatcher(source, openTotals, time, false);
    }

    private ResultWatcher(ResultSource source, Function<String, OptionalInt> openTotals, Time time, boolean threaded) {
        this.source = source;
        this.openTotals = openTotals;
        this.time = time;
        this.readers = Executors.newFixedThreadPool(8, DaemonThreads.named("imgscale-web-read"));
        this.loop = threaded ? DaemonThreads.newThread("imgscale-web-watch", this::run) : null;
    }

    /**
     * The result of one image, when it exists. Register before the image's request is sent, so the
     * result cannot come unseen. The future fails with a {@link TimeoutException} after
     * {@code timeout}, with {@link JobGoneException} when the job is reset, and may be cancelled.
     */
    CompletableFuture<ResultRecord> await(String job, String name, Duration timeout) {
        CompletableFuture<ResultRecord> future = new CompletableFuture<>();
        WatchedJob.Waiter waiter = new WatchedJob.Waiter(future, time.millis() + timeout.toMillis());
        jobs.compute(job, (k, w) -> {
            WatchedJob watched = w == null ? new WatchedJob(job) : w;
            synchronized (watched) {
                watched.waiters.computeIfAbsent(name, n -> new ArrayList<>(1)).add(waiter);
            }
            return watched;
        });
        waiting.incrementAndGet();
        future.whenComplete((r, e) -> {
            waiting.decrementAndGet();
            if (e != null) {
                forget(job, name, future);
            }
        });
        wake();
        return future;
    }

    /** Streams the job's results to the subscriber, starting with those that exist. */
    void subscribe(String job, ResultSubscriber subscriber) {
        jobs.compute(job, (k, w) -> {
            WatchedJob watched = w == null ? new WatchedJob(job) : w;
            synchronized (watched) {
                watched.joining.add(subscriber);
            }
            return watched;
        });
        wake();
    }

    void unsubscribe(String job, ResultSubscriber subscriber) {
        WatchedJob watched = jobs.get(job);
        if (watched != null) {
            synchronized (watched) {
                watched.joining.remove(subscriber);
            }
            watched.subscribers.remove(subscriber);
        }
    }

    /** The job was reset: its waiters fail with {@link JobGoneException} and its subscribers hear it. */
    void gone(String job) {
        WatchedJob watched = jobs.remove(job);
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
        WatchedJob watched = jobs.get(job);
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

    private void end(WatchedJob watched) {
        List<WatchedJob.Waiter> futures = takeWaiters(watched);
        List<ResultSubscriber> subscribers = new ArrayList<>(watched.subscribers);
        synchronized (watched) {
            subscribers.addAll(watched.joining);
            watched.joining.clear();
        }
        watched.subscribers.clear();
        for (WatchedJob.Waiter w : futures) {
            w.future().completeExceptionally(new JobGoneException(watched.job));
        }
        for (ResultSubscriber s : subscribers) {
            safely(() -> s.gone());
        }
    }

    private static List<WatchedJob.Waiter> takeWaiters(WatchedJob watched) {
        List<WatchedJob.Waiter> out = new ArrayList<>();
        synchronized (watched) {
            watched.waiters.values().forEach(out::addAll);
            watched.waiters.clear();
        }
        return out;
    }

    private void forget(String job, String name, CompletableFuture<ResultRecord> future) {
        WatchedJob watched = jobs.get(job);
        if (watched == null) {
            return;
        }
        synchronized (watched) {
            List<WatchedJob.Waiter> list = watched.waiters.get(name);
            if (list != null) {
                list.removeIf(w -> w.future() == future);
                if (list.isEmpty()) {
                    watched.waiters.remove(name);
                }
            }
        }
    }

    private void wake() {
        woken = true;
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private void run() {
        while (!stopping) {
            long deadline = time.millis() + pollOnce();
            synchronized (signal) {
                // woken since the poll: poll again at once; else pause until the deadline or a wake-up
                while (!woken && !stopping && time.millis() < deadline) {
                    try {
                        time.waitOn(signal, deadline);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }
    }

    /**
     * One poll of every watched job: expire waiters past their deadline, read what is new, answer.
     * Only one thread calls it (the loop, or a test). Returns how long to pause before the next.
     */
    long pollOnce() {
        boolean fresh = false;
        boolean waitersPresent = false;
        long now = time.millis();
        for (WatchedJob watched : List.copyOf(jobs.values())) {
            expire(watched, now);
            // drop a job nobody watches any more; compute() makes this atomic with a new registration
            jobs.computeIfPresent(watched.job, (k, w) -> w.idle() ? null : w);
            if (!jobs.containsKey(watched.job)) {
                continue;
            }
            try {
                fresh |= poll(watched);
            } catch (RuntimeException e) {
                // once a minute per job: polls come several times a second
                if (now - watched.warnedAt > 60_000) {
                    watched.warnedAt = now;
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
        // nothing to watch: sleep until a registration wakes us
        return jobs.isEmpty() ? IDLE_MS : interval;
    }

    /** Fails the waiters whose deadline has passed with a {@link TimeoutException}. */
    private static void expire(WatchedJob watched, long now) {
        List<WatchedJob.Waiter> late = new ArrayList<>();
        synchronized (watched) {
            for (var it = watched.waiters.values().iterator(); it.hasNext(); ) {
                List<WatchedJob.Waiter> list = it.next();
                list.removeIf(w -> w.deadline() <= now && late.add(w));
                if (list.isEmpty()) {
                    it.remove();
                }
            }
        }
        late.forEach(w -> w.future().completeExceptionally(new TimeoutException("no result by the deadline")));
    }

    /** One poll of one job; true when a result came that was not seen before. */
    private boolean poll(WatchedJob watched) {
        List<ResultSubscriber> joining;
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
        List<String> listed = source.resultKeys(watched.job);
        lists++;
        List<String> toRead = new ArrayList<>();
        for (String key : listed) {
            if (!watched.keysRead.contains(key)) {
                toRead.add(key);
            }
        }
        // a stream joining now is sent the rows kept from earlier polls, then this poll's
        List<ResultRecord> earlier = joining.isEmpty() ? List.of() : watched.kept();
        List<ResultRecord> read = read(watched, toRead);
        List<ResultRecord> news = new ArrayList<>();
        for (ResultRecord r : watched.accept(read)) {
            news.add(r);
            List<WatchedJob.Waiter> futures;
            synchronized (watched) {
                futures = watched.waiters.remove(r.name());
            }
            if (futures != null) {
                futures.forEach(w -> w.future().complete(r));
            }
        }
        // a waiter for an image whose row an earlier poll read
        for (String name : awaited) {
            ResultRecord known = watched.known(name);
            List<WatchedJob.Waiter> futures = null;
            if (known != null) {
                synchronized (watched) {
                    futures = watched.waiters.remove(name);
                }
            }
            if (futures != null) {
                futures.forEach(w -> w.future().complete(known));
            }
        }
        if (streaming) {
            for (ResultSubscriber s : watched.subscribers) {
                for (ResultRecord r : news) {
                    safely(() -> s.result(r));
                }
            }
            for (ResultSubscriber s : joining) {
                for (ResultRecord r : earlier) {
                    safely(() -> s.result(r));
                }
                for (ResultRecord r : news) {
                    safely(() -> s.result(r));
                }
            }
            int done = watched.done();
            JobProgress progress = new JobProgress(watched.job, total(watched, done), done, watched.failed);
            boolean changed = !progress.equals(watched.sent);
            watched.sent = progress;
            for (ResultSubscriber s : changed ? watched.subscribers : Set.<ResultSubscriber>of()) {
                safely(() -> s.progress(progress));
            }
            for (ResultSubscriber s : joining) {
                safely(() -> s.progress(progress));
            }
            watched.subscribers.addAll(joining);
        }
        watched.endPoll(news);
        return !read.isEmpty();
    }

    /** The job's image count: this server's own count for a job it is adding to, else its manifest's (re-read now and then). */
    private int total(WatchedJob watched, int done) {
        OptionalInt open = openTotals.apply(watched.job);
        if (open.isPresent()) {
            watched.total = open.getAsInt();
            return watched.total;
        }
        long now = time.millis();
        if (watched.total < 0 || done > watched.total || now - watched.totalReadAt > TOTAL_REFRESH_MS && done < watched.total) {
            watched.totalReadAt = now;
            try {
                watched.total = source.manifestTotal(watched.job).orElse(watched.total);
            } catch (RuntimeException e) {
                LOG.debug("Cannot read the manifest of job {}: {}", watched.job, e.toString());
            }
        }
        return Math.max(watched.total, 0);
    }

    /**
     * Reads the objects concurrently and gives their rows in key order; an object that cannot be
     * read now is not marked read, so a later poll reads it.
     */
    private List<ResultRecord> read(WatchedJob watched, List<String> keys) {
        if (keys.isEmpty()) {
            return List.of();
        }
        List<Future<List<ResultRecord>>> futures = new ArrayList<>(keys.size());
        for (String key : keys) {
            futures.add(readers.submit(() -> source.read(watched.job, key)));
        }
        List<ResultRecord> out = new ArrayList<>();
        for (int i = 0; i < futures.size(); i++) {
            try {
                out.addAll(futures.get(i).get(30, TimeUnit.SECONDS));
                watched.keysRead.add(keys.get(i));
            } catch (ExecutionException | TimeoutException e) {
                LOG.debug("Cannot read {} of job {}: {}", keys.get(i), watched.job, e.toString());
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
        if (loop != null) {
            wake();
            try {
                loop.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        readers.shutdownNow();
        for (WatchedJob watched : List.copyOf(jobs.values())) {
            takeWaiters(watched).forEach(w -> w.future().completeExceptionally(reason));
        }
        jobs.clear();
    }

    @Override
    public void close() {
        close(new ImgscaleException("The server is stopping."));
    }
}
