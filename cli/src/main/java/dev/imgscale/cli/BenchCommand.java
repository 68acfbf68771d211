package dev.imgscale.cli;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.catalog.AssetSpec;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.decode.ImageRejectedException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.opencv.global.opencv_core;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code imgscale bench}: how fast a model runs here. A benchmark that prints figures, never a test:
 * decode + preprocess time per image, inference time per image at the chosen batch size, and the
 * images per second they allow, each after a warm-up.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure a model on this machine: decode+preprocess ms/image, inference ms/image and images/s, after a warm-up.",
            "Uses the development images (found through IMGSCALE_ASSETS or downloaded) unless given files or folders."})
final class BenchCommand implements Callable<Integer> {
    @ParentCommand
    ImgscaleCommand root;

    @Spec
    CommandSpec spec;

    @Mixin
    VerboseMixin verbose;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "Forward passes before timing (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "5", description = "Time spent timing inference (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Parameters(arity = "0..*", paramLabel = "FILE|DIR", description = "Images to use (default: the development images).")
    List<Path> paths = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ModelCatalog catalog = ModelCatalog.builtIn();
        AssetResolver resolver = AssetResolver.fromEnvironment(root.env());
        ProgressBarListener progress = new ProgressBarListener(spec.commandLine().getErr());
        List<Path> images = new ArrayList<>();
        if (paths.isEmpty()) {
            for (AssetSpec a : catalog.dataset("dev-images")) {
                images.add(resolver.resolve(a, progress));
            }
        } else {
            images.addAll(ImageFiles.expand(paths).images());
        }
        ModelSpec model = modelOptions.spec(catalog);
        try (Classifier classifier = Classifier.open(model, resolver, modelOptions.options(), progress)) {
            List<byte[]> encoded = new ArrayList<>();
            for (Path p : images) {
                encoded.add(Files.readAllBytes(p));
            }
            // Decode + preprocess, one thread, every image at least once and for at least a second.
            List<float[]> tensors = new ArrayList<>();
            long decodeNanos = 0;
            long decoded = 0;
            long deadline = System.nanoTime() + 1_000_000_000L;
            do {
                for (byte[] bytes : encoded) {
                    long t0 = System.nanoTime();
                    try {
                        float[] t = classifier.prepare(bytes);
                        decodeNanos += System.nanoTime() - t0;
                        decoded++;
                        if (tensors.size() < encoded.size()) {
                            tensors.add(t);
                        }
                    } catch (ImageRejectedException e) {
                        // a rejected image is not part of the figure
                    }
                }
            } while (System.nanoTime() < deadline && !tensors.isEmpty());
            if (tensors.isEmpty()) {
                throw new ImgscaleException("None of the benchmark images could be decoded.");
            }
            int batch = modelOptions.batch;
            List<float[]> batchTensors = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                batchTensors.add(tensors.get(i % tensors.size()));
            }
            for (int i = 0; i < warmup; i++) {
                classifier.probabilities(batchTensors);
            }
            long inferNanos = 0;
            long passes = 0;
            long stop = System.nanoTime() + (long) (seconds * 1e9);
            while (passes < 3 || System.nanoTime() < stop) {
                long t0 = System.nanoTime();
                classifier.probabilities(batchTensors);
                inferNanos += System.nanoTime() - t0;
                passes++;
            }
            double decodeMs = decodeNanos / 1e6 / decoded;
            double inferMs = inferNanos / 1e6 / (passes * batch);
            out.printf(Locale.ROOT, "model                     %s (%s, engine %s, %d threads, batch %d)%n", model.name(), model.format(),
                    classifier.engineName(), opencv_core.getNumThreads(), batch);
            out.printf(Locale.ROOT, "images                    %d distinct, %d decodes timed%n", tensors.size(), decoded);
            out.printf(Locale.ROOT, "decode+preprocess         %.2f ms/image (one thread)%n", decodeMs);
            out.printf(Locale.ROOT, "inference                 %.2f ms/image (%d passes of %d)%n", inferMs, passes, batch);
            out.printf(Locale.ROOT, "inference throughput      %.1f images/s%n", 1000 / inferMs);
            out.printf(Locale.ROOT, "sequential end to end     %.1f images/s (decode then infer, no overlap)%n", 1000 / (decodeMs + inferMs));
            out.flush();
        }
        return ExitCodes.OK;
    }
}
