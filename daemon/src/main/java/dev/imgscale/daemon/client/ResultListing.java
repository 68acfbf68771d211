package dev.imgscale.daemon.client;

import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A job's result objects as one listing shows them, in key order, with what their keys say: a
 * per-image {@code <name>.json} (version 1) is one row; a {@link ResultBatch} key carries its rows,
 * errors and redelivered rows. No object is read.
 *
 * <p>{@code rows} counts distinct names exactly when {@code redelivered} is 0: a name gets a second
 * row only from a redelivery, whose row has {@code receives > 1}. Otherwise it may count up to
 * {@code redelivered} names twice. {@code errors} counts the errors of batch objects only: a
 * per-image object's ({@code perImage} of them, written by the previous release) says nothing in
 * its key.
 */
public record ResultListing(List<String> keys, int rows, int errors, int redelivered, int perImage) {
    public ResultListing {
        keys = List.copyOf(keys);
    }

    /** Lists the job's results prefix (one LIST per 1,000 keys). */
    public static ResultListing of(ObjectStore output, String job) {
        List<String> keys = new ArrayList<>();
        int rows = 0;
        int errors = 0;
        int redelivered = 0;
        int perImage = 0;
        for (String key : output.list(Keys.resultPrefix(job))) {
            var counts = ResultBatch.counts(job, key);
            if (counts.isPresent()) {
                rows += counts.get().images();
                errors += counts.get().errors();
                redelivered += counts.get().redelivered();
                keys.add(key);
            } else if (Keys.nameOfResult(job, key) != null) {
                rows++;
                perImage++;
                keys.add(key);
            }
        }
        return new ResultListing(keys, rows, errors, redelivered, perImage);
    }

    public static ResultListing empty() {
        return new ResultListing(List.of(), 0, 0, 0, 0);
    }

    /** True when the counts are exactly the job's distinct names with a result and their errors. */
    public boolean exact() {
        return redelivered == 0 && perImage == 0;
    }

    public int objects() {
        return keys.size();
    }

    /** The keys not in {@code read}, in key order. */
    public Stream<String> unread(java.util.Set<String> read) {
        return keys.stream().filter(k -> !read.contains(k));
    }
}
