package dev.imgscale.daemon.web;

import dev.imgscale.daemon.wire.DistinctNames;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What {@link ResultWatcher} knows of one job it watches: who waits on it (requests for one image,
 * event streams), the result objects read, and its rows, one per image, in bounded memory. The
 * rows are told apart by a hash of the name ({@link DistinctNames}) and kept for a stream that
 * joins later up to {@value #KEPT_ROWS}; without the bound a stream opened on a job of a million
 * images would have held them all. Its fields are touched on the watcher's thread, except where
 * guarded by the instance.
 */
final class WatchedJob {
    /** Rows of a job kept to send a stream that joins later (and a waiter registered late). */
    static final int KEPT_ROWS = 10_000;

    /** One request waiting for one image's result, until its deadline (the clock's epoch millis). */
    record Waiter(CompletableFuture<ResultRecord> future, long deadline) {
    }

    final String job;
    /** Image name to the requests waiting for its result; guarded by this. */
    final Map<String, List<Waiter>> waiters = new HashMap<>();
    /** Subscribers not yet sent the job's state; guarded by this. */
    final List<ResultSubscriber> joining = new ArrayList<>();
    final Set<ResultSubscriber> subscribers = ConcurrentHashMap.newKeySet();
    /** Result objects read so far (a failed read is retried at the next poll). */
    final Set<String> keysRead = new HashSet<>();
    int failed;
    int total = -1;
    long totalReadAt;
    long warnedAt;
    JobProgress sent;

    /** The names of the rows given, by hash: one row per image. */
    private final DistinctNames names = new DistinctNames();
    /** The first {@link #KEPT_ROWS} rows, by name. */
    private final Map<String, ResultRecord> kept = new LinkedHashMap<>();
    /** The rows the last poll read, by name: a waiter registered during that poll finds its row here. */
    private Map<String, ResultRecord> lastRead = Map.of();

    WatchedJob(String job) {
        this.job = job;
    }

    synchronized boolean idle() {
        return waiters.isEmpty() && joining.isEmpty() && subscribers.isEmpty();
    }

    /**
     * The rows of a poll's objects that are new: a second row of a redelivered image is dropped
     * (the first stays), errors are counted, and the first {@link #KEPT_ROWS} rows kept.
     */
    List<ResultRecord> accept(List<ResultRecord> read) {
        List<ResultRecord> news = new ArrayList<>();
        for (ResultRecord r : read) {
            if (!names.add(r.name())) {
                continue;
            }
            if (kept.size() < KEPT_ROWS) {
                kept.put(r.name(), r);
            }
            if (!r.ok()) {
                failed++;
            }
            news.add(r);
        }
        return news;
    }

    /** After a poll: its new rows are what a waiter registered during it can still find. */
    void endPoll(List<ResultRecord> news) {
        Map<String, ResultRecord> byName = new HashMap<>();
        news.forEach(r -> byName.put(r.name(), r));
        lastRead = byName;
    }

    /** The row of an image read before, when still at hand (kept, or read by the last poll). */
    ResultRecord known(String name) {
        ResultRecord r = kept.get(name);
        return r != null ? r : lastRead.get(name);
    }

    /** The rows kept for a stream that joins, in the order read. */
    List<ResultRecord> kept() {
        return List.copyOf(kept.values());
    }

    /** Images with a row. */
    int done() {
        return names.size();
    }
}
