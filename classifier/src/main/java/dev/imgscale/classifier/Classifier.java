package dev.imgscale.classifier;

import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.assets.DownloadListener;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.catalog.OutputSpec;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.classifier.engine.Engine;
import dev.imgscale.classifier.engine.OnnxRuntimeEngine;
import dev.imgscale.classifier.engine.OpenCvDnnEngine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.bytedeco.opencv.global.opencv_core;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ImageNet classifier: safe decoding, the model's preprocessing, batched inference and top-k
 * labels. Thread-safe: images are decoded and preprocessed concurrently by any number of threads,
 * and forward passes run on {@link #streams()} engines (copies of the network) side by side, each
 * pass taking an idle engine and giving it back: as many callers infer at once as there are
 * streams, and one call of several passes spreads them over the streams (see
 * {@link ClassifierOptions} for why streams).
 */
@ThreadSafe
public final class Classifier implements AutoCloseable {
    /** {@code --engine} values. */
    public static final String OPENCV = "opencv";
    public static final String ONNX_RUNTIME = "onnxruntime";
    public static final String AUTO = "auto";
    /** Every value {@code --engine} accepts, in the order help lists them. */
    public static final List<String> ENGINES = List.of(OPENCV, ONNX_RUNTIME, AUTO);

    private static final Logger LOG = LoggerFactory.getLogger(Classifier.class);

    private final ModelSpec model;
    private final Labels labels;
    private final ClassifierOptions options;
    private final ImagePreparer preparer;
    /** Every engine, one per stream. */
    private final List<Engine> engines;
    /** The engines not running a pass right now. */
    private final BlockingQueue<Engine> idle;
    private final ExecutorService decodePool;
    /** Runs the passes of one call that has several, one per stream at a time. */
    private final ExecutorService passPool;
    private volatile boolean closed;

    private Classifier(ModelSpec model, Labels labels, ClassifierOptions options, List<Engine> engines) {
        this.model = model;
        this.labels = labels;
        this.options = options;
        this.preparer = new ImagePreparer(model.input(), options.limits());
        this.engines = List.copyOf(engines);
        this.idle = new ArrayBlockingQueue<>(engines.size(), false, engines);
        int expected = model.output().classes() - model.output().labelOffset();
        if (labels.size() != expected) {
            engines.forEach(Engine::close);
            throw new ImgscaleException("The model " + model.name() + " has " + expected + " classes but its label list has "
                    + labels.size() + ".");
        }
        this.decodePool = Executors.newFixedThreadPool(options.decodeThreads(), daemon("imgscale-decode"));
        this.passPool = Executors.newFixedThreadPool(engines.size(), daemon("imgscale-infer"));
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Resolves the model file and its labels (downloading them if need be) and loads the model. */
    public static Classifier open(ModelSpec model, AssetResolver resolver, ClassifierOptions options, DownloadListener listener) {
        Path modelFile = resolver.resolve(model.asset(), listener);
        Path labelFile = resolver.resolve(model.labels().asset(), listener);
        return open(model, modelFile, Labels.load(model.labels(), labelFile), options);
    }

    /** Loads a model from a file that is already at hand. */
    public static Classifier open(ModelSpec model, Path modelFile, Labels labels, ClassifierOptions options) {
        int processors = Runtime.getRuntime().availableProcessors();
        int streams = options.streamCount(processors);
        int threads = options.threadsPerStream(processors);
        return new Classifier(model, labels, options, createEngines(model, modelFile, options, streams, threads));
    }

    /** One engine per stream, loaded side by side (each load is mostly one thread's work). */
    private static List<Engine> createEngines(ModelSpec model, Path modelFile, ClassifierOptions options, int streams, int threads) {
        String engine = resolveEngine(model, options.engine());
        if (!engine.equals(chooseEngine(model, options.engine()))) {
            LOG.warn("ONNX Runtime does not load on this machine ({} {}); running {} with OpenCV DNN instead.",
                    System.getProperty("os.name"), System.getProperty("os.arch"), model.name());
        }
        if (streams == 1) {
            return List.of(createEngine(engine, model, modelFile, threads));
        }
        ExecutorService loaders = Executors.newFixedThreadPool(streams, daemon("imgscale-load"));
        List<Future<Engine>> loading = new ArrayList<>();
        try {
            for (int i = 0; i < streams; i++) {
                loading.add(loaders.submit(() -> createEngine(engine, model, modelFile, threads)));
            }
            List<Engine> loaded = new ArrayList<>();
            RuntimeException failure = null;
            for (Future<Engine> f : loading) {
                try {
                    loaded.add(f.get());
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause() instanceof RuntimeException r ? r
                                : new ImgscaleException("Cannot load " + model.name() + ": " + e.getCause(), e.getCause());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failure = new ImgscaleException("Interrupted while loading " + model.name() + ".", e);
                    break;
                }
            }
            if (failure != null) {
                loaded.forEach(Engine::close);
                throw failure;
            }
            return loaded;
        } finally {
            loaders.shutdown();
        }
    }

    private static Engine createEngine(String engine, ModelSpec model, Path modelFile, int threads) {
        return switch (engine) {
            case ONNX_RUNTIME -> new OnnxRuntimeEngine(model, modelFile, threads);
            default -> new OpenCvDnnEngine(model, modelFile, threads);
        };
    }

    /**
     * The engine {@code --engine} means for this model: {@code opencv} or {@code onnxruntime} as
     * given, or for {@code auto} the faster of the engines that can read the model:
     * <ul>
     * <li>ONNX models run on ONNX Runtime. Measured with {@code imgscale bench --engines all} on the
     * 2-vCPU development machine (AMD EPYC Zen 4, shared with other builds; random-weight torchvision
     * topologies, four runs of ResNet-50, two of ResNet-18): ResNet-50 takes 39-45 ms per image on
     * ONNX Runtime 1.22 and 53-73 ms on OpenCV DNN 4.11 at batch 1, 38-42 against 48-62 ms at batch 8
     * (ONNX Runtime 1.24-1.64 times faster in every run); ResNet-18 17.7 against 19.6-20.0 ms at
     * batch 1 and 16.8-16.9 against 17.0-17.2 ms at batch 8 (1.01-1.13 times). On the Intel Sapphire
     * Rapids machine of the shared notes the gap is wider (ResNet-50 29 against 66 ms). ONNX Runtime
     * was never the slower engine for an ONNX model, so a per-machine measurement would only ever
     * confirm the rule, and would cost seconds at every worker start. Int8 ONNX models too: the
     * ResNet-50 topology quantised as ONNX Runtime's static quantiser writes it (uint8 activations,
     * int8 per-channel weights) ran 7.7x faster on ONNX Runtime than on OpenCV DNN, whose int8
     * path does not use the cores' VNNI (docs/benchmarks-int8.md).</li>
     * <li>TFLite models run on OpenCV DNN, the only engine here that reads them (MobileNetV2 int8:
     * 14.8-15.5 ms per image).</li>
     * </ul>
     * Choosing {@code onnxruntime} for a TFLite model is an error that says so.
     */
    public static String chooseEngine(ModelSpec model, String requested) {
        String engine = requested == null ? AUTO : requested;
        return switch (engine) {
            case OPENCV -> OPENCV;
            case ONNX_RUNTIME -> {
                if (!"onnx".equals(model.format())) {
                    throw new ImgscaleException("ONNX Runtime cannot run " + model.name() + ": it is a " + model.format()
                            + " model and ONNX Runtime reads only ONNX; use --engine opencv or --engine auto.");
                }
                yield ONNX_RUNTIME;
            }
            case AUTO -> "onnx".equals(model.format()) ? ONNX_RUNTIME : OPENCV;
            default -> throw new ImgscaleException("Unknown engine '" + engine + "'; choose one of: " + String.join(", ", ENGINES) + ".");
        };
    }

    /**
     * The engine that will actually run the model: {@link #chooseEngine}, except that {@code auto}
     * falls back to OpenCV DNN where ONNX Runtime's native library does not load: the jar carries
     * ONNX Runtime's natives for its one build platform, linux-x64 or linux-aarch64, whereas OpenCV
     * (JavaCPP) can be built for platforms ONNX Runtime's Maven jar has no natives for.
     */
    public static String resolveEngine(ModelSpec model, String requested) {
        String engine = chooseEngine(model, requested);
        boolean auto = requested == null || AUTO.equals(requested);
        if (auto && ONNX_RUNTIME.equals(engine) && !OnnxRuntimeEngine.isAvailable()) {
            return OPENCV;
        }
        return engine;
    }

    public ModelSpec model() {
        return model;
    }

    public String engineName() {
        return engines.get(0).name();
    }

    /**
     * The inference threads of each stream (OpenCV's count is process-wide, so the OpenCV figure is
     * what the process runs; ONNX Runtime's is per session).
     */
    public int engineThreads() {
        return engines.get(0) instanceof OnnxRuntimeEngine ort ? ort.threads() : Math.max(1, opencv_core.getNumThreads());
    }

    /** Forward passes that run at once, each on its own copy of the network. */
    public int streams() {
        return engines.size();
    }

    public ClassifierOptions options() {
        return options;
    }

    /**
     * Decode + preprocess alone (thread-safe, no engine): what a pipeline runs on its decode threads
     * apart from inference.
     */
    public ImagePreparer preparer() {
        return preparer;
    }

    /** Decodes and preprocesses one encoded image into the model's input tensor. */
    public float[] prepare(byte[] encoded) throws ImageRejectedException {
        return preparer.prepare(encoded);
    }

    /** Reads, decodes and preprocesses one image file. */
    public float[] prepare(Path file) throws ImageRejectedException {
        return preparer.prepare(file);
    }

    /**
     * Each tensor's probabilities over the label list (index i is label i), running forward passes of
     * at most the configured batch size.
     */
    public List<float[]> probabilities(List<float[]> tensors) {
        int batch = options.batchSize();
        int passes = (tensors.size() + batch - 1) / batch;
        if (passes <= 1 || engines.size() == 1) {
            List<float[]> out = new ArrayList<>(tensors.size());
            for (int start = 0; start < tensors.size(); start += batch) {
                out.addAll(pass(tensors.subList(start, Math.min(tensors.size(), start + batch))));
            }
            return out;
        }
        // several passes and several streams: the passes run side by side, one per idle engine
        List<Future<List<float[]>>> running = new ArrayList<>(passes);
        for (int start = 0; start < tensors.size(); start += batch) {
            List<float[]> part = tensors.subList(start, Math.min(tensors.size(), start + batch));
            running.add(passPool.submit(() -> pass(part)));
        }
        List<float[]> out = new ArrayList<>(tensors.size());
        try {
            for (Future<List<float[]>> f : running) {
                out.addAll(f.get());
            }
        } catch (ExecutionException e) {
            running.forEach(f -> f.cancel(false));
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new ImgscaleException("Inference failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            running.forEach(f -> f.cancel(false));
            Thread.currentThread().interrupt();
            throw new ImgscaleException("Interrupted while classifying.", e);
        }
        return out;
    }

    /**
     * Each image's probabilities, for {@code count} images whose tensors lie back to back in
     * {@code packed} (as {@link ImagePreparer#prepareInto} writes them into a batch tensor): when
     * they fit one pass, the engine reads them without another copy.
     */
    public List<float[]> probabilities(float[] packed, int count) {
        int per = model.input().tensorLength();
        if (count < 0 || (long) count * per > packed.length) {
            throw new IllegalArgumentException("the batch tensor holds " + packed.length + " floats, not " + count + " x " + per);
        }
        if (count <= options.batchSize()) {
            return pass(packed.length == count * per ? packed : java.util.Arrays.copyOf(packed, count * per), count);
        }
        List<float[]> tensors = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            tensors.add(java.util.Arrays.copyOfRange(packed, i * per, (i + 1) * per));
        }
        return probabilities(tensors);
    }

    /** One forward pass (at most a batch) on an idle engine, waiting for one if all are busy. */
    private List<float[]> pass(List<float[]> tensors) {
        int per = model.input().tensorLength();
        int n = tensors.size();
        float[] input = new float[n * per];
        for (int i = 0; i < n; i++) {
            System.arraycopy(tensors.get(i), 0, input, i * per, per);
        }
        return pass(input, n);
    }

    private List<float[]> pass(float[] input, int n) {
        Engine engine = takeEngine();
        float[][] raw;
        try {
            raw = engine.run(input, n);
        } finally {
            idle.add(engine);
        }
        List<float[]> out = new ArrayList<>(n);
        for (float[] row : raw) {
            out.add(toProbabilities(model.output(), row));
        }
        return out;
    }

    private Engine takeEngine() {
        if (closed) {
            throw new ImgscaleException("The classifier is closed.");
        }
        try {
            return idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImgscaleException("Interrupted while waiting for an engine.", e);
        }
    }

    /** The top-k labels of each tensor. */
    public List<List<Prediction>> infer(List<float[]> tensors) {
        return top(probabilities(tensors));
    }

    /** The top-k labels of {@code count} images packed in a batch tensor (see {@link #probabilities(float[], int)}). */
    public List<List<Prediction>> infer(float[] packed, int count) {
        return top(probabilities(packed, count));
    }

    private List<List<Prediction>> top(List<float[]> probabilities) {
        List<List<Prediction>> out = new ArrayList<>(probabilities.size());
        for (float[] p : probabilities) {
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
        int window = Math.max(options.batchSize() * Math.max(4, 2 * engines.size()), options.decodeThreads() * 2);
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
        closed = true;
        decodePool.shutdownNow();
        passPool.shutdownNow();
        // each engine once it is idle: a pass under way finishes first (bounded, so a stuck caller
        // cannot hang a shutdown; an engine still busy then is left to the process's exit)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (int i = 0; i < engines.size(); i++) {
            try {
                Engine engine = idle.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (engine == null) {
                    LOG.warn("{} of {} engines still running a pass after 30 s; not closing them", engines.size() - i, engines.size());
                    return;
                }
                engine.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
