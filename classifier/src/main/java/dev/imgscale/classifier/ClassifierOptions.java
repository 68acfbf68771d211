package dev.imgscale.classifier;

import dev.imgscale.classifier.decode.DecodeLimits;

/**
 * How a {@link Classifier} runs.
 *
 * <p>Inference runs as {@code streams} engines side by side, each a copy of the network running its
 * own forward passes with {@code threads} threads. By default a stream per core, one thread each
 * (at most {@value #MAX_DEFAULT_STREAMS} streams): for throughput, several single-threaded passes at
 * once beat one pass split over every core, because a pass split over threads waits at every
 * operator for its slowest thread, and on a worker the slowest is whichever shares its core with a
 * download or a decode (the figures: docs/benchmarks.md, "Engine streams"). Each stream holds its
 * own copy of the network (ResNet-50: about 100 MB of weights, plus its activations).
 *
 * <p>Build options from {@link #defaults()} and the withers, so each caller names only what it changes.
 *
 * @param engine        {@code opencv}, {@code onnxruntime} or {@code auto} (see {@link Classifier#chooseEngine})
 * @param threads       inference threads per stream (0 = the cores divided among the streams)
 * @param streams       forward passes run at once, each on its own engine (0 = one per core, at most
 *                      {@value #MAX_DEFAULT_STREAMS}, when {@code threads} is 0 too; one when
 *                      {@code threads} is given, its meaning before streams)
 * @param batchSize     images per forward pass
 * @param decodeThreads threads decoding and preprocessing images in parallel with each other
 * @param topK          labels reported per image
 */
public record ClassifierOptions(String engine, int threads, int streams, int batchSize, int decodeThreads, int topK,
                                DecodeLimits limits) {
    /** The most streams chosen by default: more copies of a network cost memory for little gain. */
    public static final int MAX_DEFAULT_STREAMS = 8;

    public ClassifierOptions {
        if (batchSize < 1 || batchSize > 256) {
            throw new ImgscaleException("The batch size must be between 1 and 256, not " + batchSize + ".");
        }
        if (topK < 1) {
            throw new ImgscaleException("--top must be at least 1.");
        }
        if (threads < 0 || decodeThreads < 0 || streams < 0) {
            throw new ImgscaleException("Thread and stream counts cannot be negative.");
        }
        if (streams > 64) {
            throw new ImgscaleException("--streams must be at most 64, not " + streams + ".");
        }
        decodeThreads = decodeThreads == 0 ? Runtime.getRuntime().availableProcessors() : decodeThreads;
        engine = engine == null ? "auto" : engine;
        limits = limits == null ? DecodeLimits.DEFAULT : limits;
    }

    public static ClassifierOptions defaults() {
        return new ClassifierOptions("auto", 0, 0, 8, 0, 5, DecodeLimits.DEFAULT);
    }

    public ClassifierOptions withBatchSize(int size) {
        return new ClassifierOptions(engine, threads, streams, size, decodeThreads, topK, limits);
    }

    public ClassifierOptions withTopK(int k) {
        return new ClassifierOptions(engine, threads, streams, batchSize, decodeThreads, k, limits);
    }

    public ClassifierOptions withEngine(String name) {
        return new ClassifierOptions(name, threads, streams, batchSize, decodeThreads, topK, limits);
    }

    public ClassifierOptions withStreams(int count, int threadsPerStream) {
        return new ClassifierOptions(engine, threadsPerStream, count, batchSize, decodeThreads, topK, limits);
    }

    public ClassifierOptions withDecodeThreads(int count) {
        return new ClassifierOptions(engine, threads, streams, batchSize, count, topK, limits);
    }

    public ClassifierOptions withLimits(DecodeLimits decodeLimits) {
        return new ClassifierOptions(engine, threads, streams, batchSize, decodeThreads, topK, decodeLimits);
    }

    /** The streams these options mean on a machine with {@code processors} cores. */
    public int streamCount(int processors) {
        if (streams > 0) {
            return streams;
        }
        if (threads > 0) {
            // --threads alone keeps its old meaning: one pass at a time, on that many threads
            return 1;
        }
        return Math.max(1, Math.min(processors, MAX_DEFAULT_STREAMS));
    }

    /** The inference threads of each stream on a machine with {@code processors} cores. */
    public int threadsPerStream(int processors) {
        if (threads > 0) {
            return threads;
        }
        return Math.max(1, processors / streamCount(processors));
    }
}
