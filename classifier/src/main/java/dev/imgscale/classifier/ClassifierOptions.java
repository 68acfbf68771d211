package dev.imgscale.classifier;

import dev.imgscale.classifier.decode.DecodeLimits;

/**
 * How a {@link Classifier} runs.
 *
 * @param engine        {@code opencv}, {@code onnxruntime} or {@code auto} (see {@link Classifier#chooseEngine})
 * @param threads       inference threads (0 = the engine's default, one per core)
 * @param batchSize     images per forward pass
 * @param decodeThreads threads decoding and preprocessing images in parallel with each other
 * @param topK          labels reported per image
 */
public record ClassifierOptions(String engine, int threads, int batchSize, int decodeThreads, int topK, DecodeLimits limits) {
    public ClassifierOptions {
        if (batchSize < 1 || batchSize > 256) {
            throw new ImgscaleException("The batch size must be between 1 and 256, not " + batchSize + ".");
        }
        if (topK < 1) {
            throw new ImgscaleException("--top must be at least 1.");
        }
        if (threads < 0 || decodeThreads < 0) {
            throw new ImgscaleException("Thread counts cannot be negative.");
        }
        decodeThreads = decodeThreads == 0 ? Runtime.getRuntime().availableProcessors() : decodeThreads;
        engine = engine == null ? "auto" : engine;
        limits = limits == null ? DecodeLimits.DEFAULT : limits;
    }

    public static ClassifierOptions defaults() {
        return new ClassifierOptions("auto", 0, 8, 0, 5, DecodeLimits.DEFAULT);
    }

    public ClassifierOptions withBatchSize(int size) {
        return new ClassifierOptions(engine, threads, size, decodeThreads, topK, limits);
    }

    public ClassifierOptions withTopK(int k) {
        return new ClassifierOptions(engine, threads, batchSize, decodeThreads, k, limits);
    }
}
