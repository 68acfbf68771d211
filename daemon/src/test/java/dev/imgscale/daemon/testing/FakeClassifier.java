package dev.imgscale.daemon.testing;

import dev.imgscale.classifier.Prediction;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.worker.stage.ImageClassifier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An {@link ImageClassifier} without a model, for unit tests: the "image" says what becomes of it.
 * {@link #image(String)} is an image labelled so, {@link #rejected(ErrorCode)} one the decoder
 * rejects with that code, {@link #crashing()} one whose decoding fails for a reason that is not the
 * image's (the worker leaves it, to be retried); any other bytes are rejected as CORRUPT. Inference
 * can be made to fail ({@link #failInference}) or to take time ({@link #inferenceTakes}) in the
 * given {@link Time}, so that a batch can be held in the classify stage while a fake time moves.
 */
public final class FakeClassifier implements ImageClassifier {
    private static final String LABEL = "label:";
    private static final String REJECT = "reject:";
    private static final String CRASH = "crash";

    private final Time time;
    private final int engineThreads;
    private final int streams;
    private final long maxImageBytes;
    private final List<String> labels = new CopyOnWriteArrayList<>();
    private final AtomicReference<RuntimeException> inferenceFailure = new AtomicReference<>();
    private volatile Duration inferenceTime = Duration.ZERO;
    private volatile Duration decodeCost = Duration.ZERO;
    private volatile Duration inferCostPerImage = Duration.ZERO;
    private final AtomicInteger decodes = new AtomicInteger();
    private final List<Integer> passes = new CopyOnWriteArrayList<>();
    private final Object sleeping = new Object();
    /** The ends (fake millis) of the inferences taking their time now. */
    private final java.util.Queue<Long> inferenceEnds = new java.util.concurrent.ConcurrentLinkedQueue<>();

    /** One stream of one thread, images up to 1 MB. */
    public FakeClassifier(Time time) {
        this(time, 1, 1, 1 << 20);
    }

    public FakeClassifier(Time time, int engineThreads, int streams, long maxImageBytes) {
        this.time = time;
        this.engineThreads = engineThreads;
        this.streams = streams;
        this.maxImageBytes = maxImageBytes;
    }

    /** An image this classifier labels {@code label}. */
    public static byte[] image(String label) {
        return (LABEL + label).getBytes(StandardCharsets.UTF_8);
    }

    /** An image the decoder rejects with that code. */
    public static byte[] rejected(ErrorCode code) {
        return (REJECT + code.name()).getBytes(StandardCharsets.UTF_8);
    }

    /** An image whose decoding fails, not through the image's fault. */
    public static byte[] crashing() {
        return CRASH.getBytes(StandardCharsets.UTF_8);
    }

    /** From now on every inference throws this (null: inference works again). */
    public void failInference(RuntimeException e) {
        inferenceFailure.set(e);
    }

    /** From now on each inference call takes this long in the classifier's time. */
    public void inferenceTakes(Duration d) {
        inferenceTime = d;
    }

    /** Inferences taking their time now ({@link #inferenceTakes}): their end is fixed, and only moving the time reaches it. */
    public int inferring() {
        long now = time.millis();
        return (int) inferenceEnds.stream().filter(e -> e > now).count();
    }

    /**
     * From now on each decode moves the fake time on by {@code decode}, and each inference call by
     * {@code inferPerImage} times its images: what the worker then measures is exactly these costs,
     * as long as no two of them overlap (a decode and a pass at once would each see both).
     */
    public void costs(Duration decode, Duration inferPerImage) {
        if (!(time instanceof FakeTime)) {
            throw new IllegalStateException("costs move a FakeTime; this classifier runs in " + time);
        }
        decodeCost = decode;
        inferCostPerImage = inferPerImage;
    }

    /** Images decoded (or rejected) so far. */
    public int decodes() {
        return decodes.get();
    }

    /** The size of each inference call so far, in order. */
    public List<Integer> passes() {
        return new ArrayList<>(passes);
    }

    @Override
    public String engineName() {
        return "fake";
    }

    @Override
    public int engineThreads() {
        return engineThreads;
    }

    @Override
    public int streams() {
        return streams;
    }

    @Override
    public int batchSize() {
        return 10;
    }

    @Override
    public int decodeThreads() {
        return 2;
    }

    @Override
    public long maxImageBytes() {
        return maxImageBytes;
    }

    @Override
    public float[] decode(byte[] encoded) throws ImageRejectedException {
        decodes.incrementAndGet();
        if (!decodeCost.isZero()) {
            ((FakeTime) time).advance(decodeCost);
        }
        String s = new String(encoded, StandardCharsets.UTF_8);
        if (s.startsWith(LABEL)) {
            String label = s.substring(LABEL.length());
            int index;
            synchronized (labels) {
                index = labels.indexOf(label);
                if (index < 0) {
                    labels.add(label);
                    index = labels.size() - 1;
                }
            }
            return new float[] {index};
        }
        if (s.startsWith(REJECT)) {
            ErrorCode code = ErrorCode.valueOf(s.substring(REJECT.length()));
            throw new ImageRejectedException(code, "fake: " + code.description());
        }
        if (s.equals(CRASH)) {
            throw new IllegalStateException("fake decoder crashed");
        }
        throw new ImageRejectedException(ErrorCode.CORRUPT, "fake: " + ErrorCode.CORRUPT.description());
    }

    @Override
    public List<List<Prediction>> infer(List<float[]> tensors) {
        passes.add(tensors.size());
        if (!inferCostPerImage.isZero()) {
            ((FakeTime) time).advance(inferCostPerImage.multipliedBy(tensors.size()));
        }
        Duration takes = inferenceTime;
        if (!takes.isZero()) {
            long deadline = time.millis() + takes.toMillis();
            Long end = deadline;
            inferenceEnds.add(end);
            synchronized (sleeping) {
                try {
                    while (time.millis() < deadline) {
                        time.waitOn(sleeping, deadline);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                } finally {
                    inferenceEnds.remove(end);
                }
            }
        }
        RuntimeException failure = inferenceFailure.get();
        if (failure != null) {
            throw failure;
        }
        List<List<Prediction>> out = new ArrayList<>();
        for (float[] t : tensors) {
            int index = (int) t[0];
            List<Prediction> top = new ArrayList<>();
            top.add(new Prediction(index, labels.get(index), 0.9f));
            for (int k = 1; k < 5; k++) {
                top.add(new Prediction(1000 + k, "other-" + k, 0.1f / k / 2));
            }
            out.add(top);
        }
        return out;
    }
}
