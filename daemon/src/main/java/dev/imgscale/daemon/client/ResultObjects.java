package dev.imgscale.daemon.client;

import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.DistinctNames;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultBatch;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads result objects of both formats into rows, one row per image name: a name already in
 * {@code seen} is skipped, so a redelivered image that two batches hold is given once, from the
 * first object read (readers read in key order, so two runs of {@code results} agree). Objects
 * are fetched a few at a time ahead of the one being given out, in order, so rows stream at the
 * rate of several GETs at once while memory stays at a few objects.
 */
public final class ResultObjects {
    private static final Logger LOG = LoggerFactory.getLogger(JobClient.class);
    /** Objects fetched ahead: enough to hide a GET's latency behind parsing and printing. */
    static final int AHEAD = 8;

    private ResultObjects() {
    }

    /** The rows of one object: a batch's lines, or a per-image result; none if it is gone or unreadable. */
    public static List<ResultRecord> read(ObjectStore output, String job, String key) {
        List<ResultRecord> rows = new ArrayList<>();
        try {
            if (ResultBatch.counts(job, key).isPresent()) {
                output.get(key).ifPresent(bytes -> ResultBatch.read(bytes, rows::add,
                        bad -> LOG.warn("Skipping a row of {}: {}", key, bad)));
            } else if (Keys.nameOfResult(job, key) != null) {
                output.get(key).map(b -> Json.read(b, ResultRecord.class)).ifPresent(rows::add);
            }
        } catch (Json.MalformedRecordException e) {
            LOG.warn("Skipping {}: {}", key, e.getMessage());
        }
        return rows;
    }

    /**
     * Gives {@code sink} the rows of the objects, in the keys' order, each name once ({@code seen}
     * holds the names given, by hash, and is added to); {@code afterObject} runs after each object's
     * rows.
     */
    static void forEachRow(ObjectStore output, String job, List<String> keys, DistinctNames seen, Consumer<ResultRecord> sink,
                           Runnable afterObject) {
        if (keys.isEmpty()) {
            return;
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(AHEAD, keys.size()), DaemonThreads.named("imgscale-results-read"));
        try {
            Deque<Future<List<ResultRecord>>> ahead = new ArrayDeque<>();
            int next = 0;
            while (next < keys.size() || !ahead.isEmpty()) {
                while (next < keys.size() && ahead.size() < AHEAD) {
                    String key = keys.get(next++);
                    ahead.add(pool.submit(() -> read(output, job, key)));
                }
                List<ResultRecord> rows = get(ahead.poll());
                for (ResultRecord r : rows) {
                    if (seen.add(r.name())) {
                        sink.accept(r);
                    }
                }
                afterObject.run();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static List<ResultRecord> get(Future<List<ResultRecord>> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading results", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(cause);
        }
    }
}
