package dev.imgscale.daemon.wire;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A batch of results (version 2 of the results format): one object per job per flush of a
 * worker, {@code results/<job>/<worker>-<start>-<seq>-n<images>-e<errors>-r<redelivered>.jsonl},
 * JSON Lines, one {@link ResultRecord} per line (with {@code source}).
 *
 * <ul>
 *   <li>{@code <worker>}: the worker id with every character but {@code [A-Za-z0-9._]} made
 *       {@code _}, at most 64 characters (ids are {@code host:pid}; a key needs no colon).</li>
 *   <li>{@code <start>-<seq>}: the worker process's start (epoch millis, 13 digits) and a counter
 *       (6 digits) of its flushes: unique per process, so a restarted worker never overwrites an
 *       object of its previous life.</li>
 *   <li>{@code n}, {@code e}, {@code r}: the rows in the object, those that are errors, and those
 *       whose request had been received more than once. They are in the key so that progress
 *       comes from a listing alone: a name has two rows only if a redelivery wrote it again, and
 *       a redelivered row has {@code receives > 1}, so a job whose objects all say {@code r0} has
 *       exactly as many distinct names as the {@code n}s add up to.</li>
 * </ul>
 * A per-image {@code <name>.json} (version 1) never ends in {@code .jsonl}, so the two are told
 * apart by the key.
 */
public final class ResultBatch {
    /** The results format this writes (per-image objects were version 1). */
    public static final int VERSION = 2;
    public static final String SUFFIX = ".jsonl";
    public static final String CONTENT_TYPE = "application/x-ndjson";
    static final int MAX_WORKER_CHARS = 64;
    private static final Pattern COUNTS = Pattern.compile("-n(\\d{1,9})-e(\\d{1,9})-r(\\d{1,9})\\.jsonl$");

    private ResultBatch() {
    }

    /** What a batch key says about its object, without reading it. */
    public record Counts(int images, int errors, int redelivered) {
    }

    /** What a worker sends on the results queue for each object it writes. */
    public record Notice(int v, String job, String key, int images, int errors) {
    }

    /** The key of a worker's {@code seq}-th flush for a job. */
    public static String key(String job, String workerId, long start, long seq, Counts counts) {
        return Keys.resultPrefix(job) + workerPart(workerId) + String.format(Locale.ROOT, "-%013d-%06d-n%d-e%d-r%d", start, seq,
                counts.images(), counts.errors(), counts.redelivered()) + SUFFIX;
    }

    /** The worker id as it may stand in a key. */
    static String workerPart(String workerId) {
        StringBuilder b = new StringBuilder(Math.min(workerId.length(), MAX_WORKER_CHARS));
        for (int i = 0; i < workerId.length() && b.length() < MAX_WORKER_CHARS; i++) {
            char c = workerId.charAt(i);
            b.append(c < 128 && (Character.isLetterOrDigit(c) || c == '.' || c == '_') ? c : '_');
        }
        return b.isEmpty() ? "worker" : b.toString();
    }

    /** The counts of a batch key of this job; empty for any other key (a per-image result, a stray object). */
    public static Optional<Counts> counts(String job, String key) {
        if (!key.startsWith(Keys.resultPrefix(job)) || !key.endsWith(SUFFIX)) {
            return Optional.empty();
        }
        Matcher m = COUNTS.matcher(key);
        if (!m.find()) {
            return Optional.empty();
        }
        return Optional.of(new Counts(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))));
    }

    /** The counts a batch of these records gets in its key. */
    public static Counts countsOf(List<ResultRecord> records) {
        int errors = 0;
        int redelivered = 0;
        for (ResultRecord r : records) {
            errors += r.ok() ? 0 : 1;
            redelivered += r.receives() > 1 ? 1 : 0;
        }
        return new Counts(records.size(), errors, redelivered);
    }

    /** The object: one record per line, each line ending in a newline. */
    public static byte[] write(List<ResultRecord> records) {
        StringBuilder b = new StringBuilder(records.size() * 400);
        for (ResultRecord r : records) {
            b.append(Json.write(r)).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads an object's records in order. A line that is not a result (a torn or foreign line)
     * goes to {@code bad} with its line number; the others are still read.
     */
    public static void read(byte[] object, Consumer<ResultRecord> rows, Consumer<String> bad) {
        // line by line on the bytes: a '\n' byte never occurs inside a UTF-8 sequence or a JSON
        // string, and no String of the whole object or of each line is made
        int line = 0;
        int at = 0;
        while (at < object.length) {
            int end = at;
            while (end < object.length && object[end] != '\n') {
                end++;
            }
            line++;
            int from = at;
            int to = end;
            at = end + 1;
            while (from < to && isBlank(object[from])) {
                from++;
            }
            while (to > from && isBlank(object[to - 1])) {
                to--;
            }
            if (from == to) {
                continue;
            }
            ResultRecord r;
            try {
                r = Json.read(object, from, to - from, ResultRecord.class);
            } catch (Json.MalformedRecordException e) {
                bad.accept("line " + line + ": " + e.getMessage());
                continue;
            }
            if (r.name() == null) {
                bad.accept("line " + line + ": a result without a name");
                continue;
            }
            rows.accept(r);
        }
    }

    private static boolean isBlank(byte b) {
        return b == ' ' || b == '\t' || b == '\r';
    }
}
