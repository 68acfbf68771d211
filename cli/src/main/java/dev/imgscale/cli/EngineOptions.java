package dev.imgscale.cli;

import dev.imgscale.classifier.ClassifierOptions;
import picocli.CommandLine.Option;

/** How inference runs: the engine and its streams and threads. Shared by the commands that classify and the worker. */
public final class EngineOptions {
    @Option(names = "--engine", paramLabel = "NAME", defaultValue = "auto",
            description = "Inference engine: opencv, onnxruntime or auto (ONNX models on ONNX Runtime, TFLite on OpenCV; default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Inference threads per stream (default: 1 with a stream per core; --threads alone runs one stream).")
    int threads;

    @Option(names = "--streams", paramLabel = "N", defaultValue = "0",
            description = "Forward passes run at once, each on its own copy of the model (default: one per core, at most 8; 1 with --threads).")
    int streams;

    /** The default classifier options with this engine, streams and threads. */
    ClassifierOptions options() {
        return ClassifierOptions.defaults().withEngine(engine).withStreams(streams, threads);
    }
}
