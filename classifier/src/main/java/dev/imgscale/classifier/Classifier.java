package dev.imgscale.classifier;

import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.assets.DownloadListener;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.catalog.OutputSpec;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.classifier.decode.SafeDecoder;
import dev.imgscale.classifier.engine.Engine;
import dev.imgscale.classifier.engine.OpenCvDnnEngine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * An ImageNet classifier: safe decoding, the model's preprocessing, batched inference and top-k
 * labels. Thread-safe: images are decoded and preprocessed concurrently by any number of threads,
 * while forward passes run one at a time on the single engine behind a lock.
 */
@ThreadSafe
public final class Classifier implements AutoCloseable {
    private final ModelSpec model;
    private final Labels labels;
    private final ClassifierOptions options;
    private final SafeDecoder decoder;
    private final Preprocessor preprocessor;
    private final Engine engine;
    private final ReentrantLock engineLock = new ReentrantLock();
    private final ExecutorService decodePool;

    private Classifier(ModelSpec model, Labels labels, ClassifierOptions options, Engine engine) {
        this.model = model;
        this.labels = labels;
        this.options = options;
        this.decoder = new SafeDecoder(options.limits());
        this.preprocessor = new Preprocessor(model.input());
        this.engine = engine;
        int expected = model.output().classes() - model.output().labelOffset();
        if (labels.size() != expected) {
            engine.close();
            throw new ImgscaleException("The model " + model.name() + " has " + expected + " classes but its label list has "
                    + labels.size() + ".");
        }
        this.decodePool = Executors.newFixedThreadPool(options.decodeThreads(), r -> {
            Thread t = new Thread(r, "imgscale-decode");
            t.setDaemon(true);
            return t;
        });
    }

    /** Resolves the model file and its labels (downloading them if need be) and loads the model. */
    public static Classifier open(ModelSpec model, AssetResolver resolver, ClassifierOptions options, DownloadListener listener) {
        Path modelFile = resolver.resolve(model.asset(), listener);
        Path labelFile = resolver.resolve(model.labels().asset(), listener);
        return open(model, modelFile, Labels.load(model.labels(), labelFile), options);
    }

    /** Loads a model from a file that is already at hand. */
    public static Classifier open(ModelSpec model, Path modelFile, Labels labels, ClassifierOptions options) {
        return new Classifier(model, labels, options, createEngine(model, modelFile, options));
    }

    private static Engine createEngine(ModelSpec model, Path modelFile, ClassifierOptions options) {
        return switch (options.engine()) {
            case "opencv", "auto" -> new OpenCvDnnEngine(model, modelFile, options.threads());
            default -> throw new ImgscaleException("Unknown engine '" + options.engine() + "'; this build has: opencv, auto.");
        };
    }

    public ModelSpec model() {
        return model;
    }

    public String engineName() {
        return engine.name();
    }

    public ClassifierOptions options() {
        return options;
    }

    /** Decodes and preprocesses one encoded image into the model's input tensor. */
    public float[] prepare(byte[] encoded) throws ImageRejectedException {
        try (Mat image = decoder.decode(encoded)) {
            return preprocessor.toTensor(image);
        }
    }

    /** Reads, decodes and preprocesses one image file. */
    public float[] prepare(Path file) throws ImageRejectedException {
        try (Mat image = decoder.decode(file)) {
            return preprocessor.toTensor(image);
        }
    }

    /**
     * Each tensor's probabilities over the label list (index i is label i), running forward passes of
     * at most the configured batch size.
     */
    public List<float[]> probabilities(List<float[]> tensors) {
        List<float[]> out = new ArrayList<>(tensors.size());
        int per = model.input().tensorLength();
        int batch = options.batchSize();
        for (int start = 0; start < tensors.size(); start += batch) {
            int n = Math.min(batch, tensors.size() - start);
            float[] input = new float[n * per];
            for (int i = 0; i < n; i++) {
                System.arraycopy(tensors.get(start + i), 0, input, i * per, per);
            }
            float[][] raw;
            engineLock.lock();
            try {
                raw = engine.run(input, n);
            } finally {
                engineLock.unlock();
            }
            for (float[] row : raw) {
                out.add(toProbabilities(model.output(), row));
            }
        }
        return out;
    }

    /** The top-k labels of each tensor. */
    public List<List<Prediction>> infer(List<float[]> tensors) {
        List<List<Prediction>> out = new ArrayList<>(tensors.size());
        for (float[] p : probabilities(tensors)) {
            out.add(top(p, options.topK()));
        }
        return out;
    }

    /**
     * Classifies image files, going on past bad ones: each gets either its labels or its error.
     * Files are decoded in parallel a window at a time, so memory stays bounded for any count.
     */
    public List<ImageResult> classifyFiles(List<Path> files) {
        List<ImageResult> results = new ArrayList<>(files.size());
        int window = Math.max(options.batchSize() * 4, options.decodeThreads() * 2);
        for (int start = 0; start < files.size(); start += window) {
            List<Path> chunk = files.subList(start, Math.min(files.size(), start + window));
            List<Future<float[]>> futures = new ArrayList<>();
            for (Path file : chunk) {
                futures.add(decodePool.submit(() -> prepare(file)));
            }
            ImageResult[] slot = new ImageResult[chunk.size()];
            List<float[]> tensors = new ArrayList<>();
            List<Integer> positions = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                String name = chunk.get(i).getFileName().toString();
                try {
                    tensors.add(futures.get(i).get());
                    positions.add(i);
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof ImageRejectedException rejected) {
                        slot[i] = ImageResult.failed(name, rejected.code(), rejected.getMessage());
                    } else {
                        slot[i] = ImageResult.failed(name, ErrorCode.CORRUPT, "cannot decode: " + cause);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ImgscaleException("Interrupted while classifying.", e);
                }
            }
            List<List<Prediction>> predictions = infer(tensors);
            for (int j = 0; j < positions.size(); j++) {
                int i = positions.get(j);
                slot[i] = ImageResult.labelled(chunk.get(i).getFileName().toString(), predictions.get(j));
            }
            results.addAll(List.of(slot));
        }
        return results;
    }

    /** Converts a raw output row to probabilities over the label list. */
    static float[] toProbabilities(OutputSpec output, float[] raw) {
        int offset = output.labelOffset();
        float[] p = new float[raw.length - offset];
        if ("logits".equals(output.kind())) {
            float max = Float.NEGATIVE_INFINITY;
            for (int k = offset; k < raw.length; k++) {
                max = Math.max(max, raw[k]);
            }
            double sum = 0;
            for (int k = offset; k < raw.length; k++) {
                double e = Math.exp(raw[k] - max);
                p[k - offset] = (float) e;
                sum += e;
            }
            for (int i = 0; i < p.length; i++) {
                p[i] = (float) (p[i] / sum);
            }
        } else {
            System.arraycopy(raw, offset, p, 0, p.length);
        }
        return p;
    }

    private List<Prediction> top(float[] p, int k) {
        int n = Math.min(k, p.length);
        int[] best = new int[n];
        java.util.Arrays.fill(best, -1);
        for (int i = 0; i < p.length; i++) {
            // insertion into a small sorted array: k is tiny next to the 1000 classes
            int pos = n;
            while (pos > 0 && (best[pos - 1] < 0 || p[i] > p[best[pos - 1]])) {
                pos--;
            }
            if (pos < n) {
                System.arraycopy(best, pos, best, pos + 1, n - pos - 1);
                best[pos] = i;
            }
        }
        List<Prediction> out = new ArrayList<>(n);
        for (int i : best) {
            out.add(new Prediction(i, labels.name(i), p[i]));
        }
        return out;
    }

    @Override
    public void close() {
        decodePool.shutdownNow();
        engineLock.lock();
        try {
            engine.close();
        } finally {
            engineLock.unlock();
        }
    }
}
