package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.DecodeSplit;
import java.util.Locale;
import java.util.function.IntConsumer;

/**
 * Chooses how many images the worker decodes at once from what it measures: a moving average of
 * one thread's decode ms per image and of a stream's inference ms per image, put through
 * {@link DecodeSplit}'s rule every {@link #EVERY_PASSES} passes. Averages rather than the last
 * batch, because on a shared machine one slow batch says little; re-chosen rather than fixed,
 * because the photos (a 12 MP one costs twenty times a thumbnail) change with the jobs.
 *
 * <p>Until the first measurement the split is the one the benchmark justifies for ordinary photos
 * (docs/benchmarks-int8.md): one decode thread, or the override. Thread-safe.
 */
public final class DecodeTuner {
    /**
     * The system property that fixes the decode threads (a positive count) instead of choosing them: the older way,
     * kept working; {@code worker --decode-threads N} is the documented one and wins when both are given.
     */
    public static final String OVERRIDE = "imgscale.worker.decodeThreads";
    /** Passes between two choices: enough for the averages to move, few enough to follow a new job within seconds. */
    static final int EVERY_PASSES = 8;
    /** Weight of the newest measurement in the averages: about the last ten decodes or passes count. */
    static final double WEIGHT = 0.1;

    private final int processors;
    private final int streams;
    private final int threadsPerStream;
    private final int override;
    private final IntConsumer apply;
    private double decodeMs = Double.NaN;
    private double streamMs = Double.NaN;
    private int passesSinceChoice;
    private DecodeSplit split;
    private int threads;

    /**
     * @param override a decode thread count given by the operator, or 0 to choose
     * @param apply    told the decode thread count when it changes (and once at the start)
     */
    public DecodeTuner(int processors, int streams, int threadsPerStream, int override, IntConsumer apply) {
        if (override < 0) {
            throw new IllegalArgumentException("the decode threads given must be positive, or 0 to choose, not " + override);
        }
        this.processors = Math.max(1, processors);
        this.streams = Math.max(1, streams);
        this.threadsPerStream = Math.max(1, threadsPerStream);
        this.override = override;
        this.apply = apply;
        this.threads = override > 0 ? override : 1;
        apply.accept(threads);
    }

    /** The tuner for this classifier on these cores, the override read from {@link #OVERRIDE}. */
    static DecodeTuner forClassifier(ImageClassifier classifier, int processors, IntConsumer apply) {
        return new DecodeTuner(processors, classifier.streams(), classifier.engineThreads(), overrideProperty(), apply);
    }

    /** The operator's count from {@link #OVERRIDE}, 0 when unset; a bad value is an error that names the property. */
    static int overrideProperty() {
        String given = System.getProperty(OVERRIDE);
        if (given == null || given.isBlank()) {
            return 0;
        }
        try {
            int n = Integer.parseInt(given.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(OVERRIDE + " must be a positive number of decode threads, not '" + given + "'");
    }

    /** One image decoded (or rejected) by one thread in this many nanoseconds. */
    public synchronized void decoded(long nanos) {
        decodeMs = average(decodeMs, nanos / 1e6);
    }

    /** One stream's pass over this many images took this many nanoseconds; every few passes the split is re-chosen. */
    public void inferred(long nanos, int images) {
        if (images < 1) {
            return;
        }
        int changedTo;
        synchronized (this) {
            streamMs = average(streamMs, nanos / 1e6 / images);
            if (++passesSinceChoice < EVERY_PASSES) {
                return;
            }
            passesSinceChoice = 0;
            changedTo = choose();
        }
        if (changedTo > 0) {
            apply.accept(changedTo);
        }
    }

    /** Decode threads now. */
    public synchronized int threads() {
        return threads;
    }

    /** The last split chosen, null before the first choice. */
    public synchronized DecodeSplit split() {
        return split;
    }

    /** Re-chooses; the new count if it changed (logged once per change), else 0. */
    private int choose() {
        // a pass too fast for the clock to see (or no decode seen yet) says nothing yet
        if (Double.isNaN(decodeMs) || !(streamMs > 0)) {
            return 0;
        }
        split = DecodeSplit.choose(processors, streams, threadsPerStream, decodeMs, streamMs, override);
        if (split.decodeThreads() == threads) {
            return 0;
        }
        WorkerLog.LOG.info(String.format(Locale.ROOT, "Decoding on %d thread(s) instead of %d: %.1f ms to decode an image, "
                + "%.1f ms a stream's pass per image: %s", split.decodeThreads(), threads, decodeMs, streamMs, split));
        threads = split.decodeThreads();
        return threads;
    }

    private static double average(double previous, double sample) {
        return Double.isNaN(previous) ? sample : previous + WEIGHT * (sample - previous);
    }
}
