package dev.imgscale.cli;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.Labels;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.assets.DownloadListener;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.decode.DecodeLimits;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Which model to run and how: shared by the commands that classify. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "NAME", description = "A model from `imgscale model list` (default: ${DEFAULT-VALUE}).",
            defaultValue = "mobilenet-v2-int8")
    String model;

    @Option(names = "--model-file", paramLabel = "PATH", description = "Your own .onnx or .tflite model instead of --model (needs --preset).")
    Path modelFile;

    @Option(names = "--preset", paramLabel = "NAME", description = "How to feed --model-file: torchvision or tflite-int8.")
    String preset;

    @Mixin
    EngineOptions engineOptions;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "Labels kept per image (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--max-megapixels", paramLabel = "MP", defaultValue = "50", description = "Reject images declaring more pixels (default: ${DEFAULT-VALUE}).")
    double maxMegapixels;

    @Option(names = "--max-file-mb", paramLabel = "MB", defaultValue = "20", description = "Reject larger files (default: ${DEFAULT-VALUE}).")
    double maxFileMb;

    public ModelSpec spec(ModelCatalog catalog) {
        if (modelFile != null) {
            if (preset == null) {
                throw new ImgscaleException("--model-file needs --preset (one of: torchvision, tflite-int8) to know how to feed the model.");
            }
            return catalog.custom(modelFile, preset);
        }
        if (preset != null) {
            throw new ImgscaleException("--preset goes with --model-file; catalog models carry their own preprocessing.");
        }
        return catalog.model(model);
    }

    /**
     * Loads {@code spec} (from {@link #spec}) with {@code options}: a catalog model through the
     * resolver, a {@code --model-file} from its own path (the resolver looks files up by name in
     * IMGSCALE_ASSETS and the cache, where a user's file is not); its labels come from the resolver.
     */
    public Classifier open(ModelSpec spec, AssetResolver resolver, ClassifierOptions options, DownloadListener listener) {
        if (modelFile == null) {
            return Classifier.open(spec, resolver, options, listener);
        }
        Labels labels = Labels.load(spec.labels(), resolver.resolve(spec.labels().asset(), listener));
        return Classifier.open(spec, modelFile, labels, options);
    }

    public ClassifierOptions options() {
        DecodeLimits limits = new DecodeLimits((long) (maxFileMb * 1024 * 1024), (long) (maxMegapixels * 1_000_000));
        return engineOptions.options().withBatchSize(batch).withTopK(top).withLimits(limits);
    }
}
