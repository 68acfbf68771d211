package dev.imgscale.cli;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
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
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
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
 *
 * <p>With {@code --engines all} it runs every engine that can read the model on the same images, at
 * batch 1 and at {@code --batch}, side by side. The engines are loaded together and timed in
 * interleaved rounds, each figure being the median of its rounds, because the development machine
 * is shared: a burst of someone else's work then lands on every engine alike instead of on
 * whichever one happened to be running.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure a model on this machine: decode+preprocess ms/image, inference ms/image and images/s, after a warm-up.",
            "--engines all: every engine that can read the model side by side, at batch 1 and --batch.",
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

    @Option(names = "--engines", paramLabel = "LIST",
            description = {"Compare engines side by side at batch 1 and --batch: all, or a list such as opencv,onnxruntime.",
                "Engines that cannot read the model are listed as such."})
    String engines;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "5",
            description = "With --engines: interleaved timing rounds, the figure being their median (default: ${DEFAULT-VALUE}).")
    int rounds;

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
        List<byte[]> encoded = new ArrayList<>();
        for (Path p : images) {
            encoded.add(Files.readAllBytes(p));
        }
        ModelSpec model = modelOptions.spec(catalog);
        if (engines != null) {
            return compare(out, model, resolver, progress, encoded);
        }
        try (Classifier classifier = modelOptions.open(model, resolver, modelOptions.options(), progress)) {
            Decoded decoded = decode(classifier, encoded);
            List<float[]> tensors = decoded.tensors();
            int batch = modelOptions.batch;
            List<float[]> batchTensors = batchOf(tensors, batch);
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
            double decodeMs = decoded.msPerImage();
            double inferMs = inferNanos / 1e6 / (passes * batch);
            out.printf(Locale.ROOT, "model                     %s (%s, engine %s, %d threads, batch %d)%n", model.name(), model.format(),
                    classifier.engineName(), classifier.engineThreads(), batch);
            out.printf(Locale.ROOT, "images                    %d distinct, %d decodes timed%n", tensors.size(), decoded.count());
            out.printf(Locale.ROOT, "decode+preprocess         %.2f ms/image (one thread)%n", decodeMs);
            out.printf(Locale.ROOT, "inference                 %.2f ms/image (%d passes of %d)%n", inferMs, passes, batch);
            out.printf(Locale.ROOT, "inference throughput      %.1f images/s%n", 1000 / inferMs);
            out.printf(Locale.ROOT, "sequential end to end     %.1f images/s (decode then infer, no overlap)%n", 1000 / (decodeMs + inferMs));
            out.flush();
        }
        return ExitCodes.OK;
    }

    /** {@code --engines}: every named engine that can read the model, timed side by side. */
    private int compare(PrintWriter out, ModelSpec model, AssetResolver resolver, ProgressBarListener progress,
                        List<byte[]> encoded) {
        if (rounds < 1) {
            throw new ImgscaleException("--rounds must be at least 1.");
        }
        List<String> wanted = engineList();
        List<Integer> batches = new ArrayList<>(new LinkedHashSet<>(List.of(1, modelOptions.batch)));
        ClassifierOptions base = modelOptions.options();
        // loaded[engine][batch]: one classifier per engine and batch size, so that no network is ever
        // fed a second input shape. OpenCV DNN 4.11 gives wrong outputs after its input shape changes
        // (measured: ResNet-18 logits off by up to 118 once a net that ran batch 1 runs batch 4).
        List<Classifier[]> loaded = new ArrayList<>();
        List<String> unable = new ArrayList<>();
        try {
            for (String engine : wanted) {
                Classifier[] perBatch = new Classifier[batches.size()];
                try {
                    Classifier.chooseEngine(model, engine);
                    loaded.add(perBatch);
                    for (int b = 0; b < batches.size(); b++) {
                        perBatch[b] = modelOptions.open(model, resolver, new ClassifierOptions(engine, base.threads(),
                                batches.get(b), base.decodeThreads(), base.topK(), base.limits()), progress);
                    }
                } catch (ImgscaleException e) {
                    // a model this engine cannot read (TFLite on ONNX Runtime) is a row of the table,
                    // not a failure; the advice after ';' is for --engine, not for this table
                    loaded.remove(perBatch);
                    closeAll(List.<Classifier[]>of(perBatch));
                    unable.add(String.format(Locale.ROOT, "%-12s cannot run this model: %s", engine, e.getMessage().split(";")[0]));
                }
            }
            if (loaded.isEmpty()) {
                throw new ImgscaleException("No engine of " + wanted + " can run " + model.name() + ".");
            }
            Decoded decoded = decode(loaded.get(0)[0], encoded);
            for (Classifier[] perBatch : loaded) {
                for (int b = 0; b < batches.size(); b++) {
                    List<float[]> batchTensors = batchOf(decoded.tensors(), batches.get(b));
                    for (int i = 0; i < warmup; i++) {
                        perBatch[b].probabilities(batchTensors);
                    }
                }
            }
            // results[engine][batch][round] in ms/image
            double[][][] results = new double[loaded.size()][batches.size()][rounds];
            long slice = (long) (seconds * 1e9 / rounds);
            for (int r = 0; r < rounds; r++) {
                for (int e = 0; e < loaded.size(); e++) {
                    for (int b = 0; b < batches.size(); b++) {
                        results[e][b][r] = time(loaded.get(e)[b], batchOf(decoded.tensors(), batches.get(b)), slice);
                    }
                }
            }
            List<Classifier> rows = new ArrayList<>();
            loaded.forEach(perBatch -> rows.add(perBatch[0]));
            printComparison(out, model, decoded, batches, rows, unable, results);
        } finally {
            closeAll(loaded);
        }
        return ExitCodes.OK;
    }

    private static void closeAll(List<Classifier[]> classifiers) {
        for (Classifier[] perBatch : classifiers) {
            for (Classifier c : perBatch) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    private List<String> engineList() {
        Set<String> names = new LinkedHashSet<>();
        for (String part : engines.split(",")) {
            String name = part.strip().toLowerCase(Locale.ROOT);
            if (name.equals("all")) {
                // every concrete engine: auto is one of them, so it is reported as which it picks
                names.add(Classifier.OPENCV);
                names.add(Classifier.ONNX_RUNTIME);
            } else if (Classifier.ENGINES.contains(name) && !name.equals(Classifier.AUTO)) {
                names.add(name);
            } else if (!name.isEmpty()) {
                throw new ImgscaleException("--engines takes all or a list of " + Classifier.OPENCV + ", " + Classifier.ONNX_RUNTIME
                        + "; not '" + part.strip() + "'.");
            }
        }
        if (names.isEmpty()) {
            throw new ImgscaleException("--engines needs all or a list of engines.");
        }
        return new ArrayList<>(names);
    }

    /** Mean ms/image of whole forward passes over {@code budget} nanoseconds (at least one pass). */
    private static double time(Classifier classifier, List<float[]> batch, long budget) {
        long passes = 0;
        long nanos = 0;
        long stop = System.nanoTime() + budget;
        while (passes < 1 || System.nanoTime() < stop) {
            long t0 = System.nanoTime();
            classifier.probabilities(batch);
            nanos += System.nanoTime() - t0;
            passes++;
        }
        return nanos / 1e6 / (passes * batch.size());
    }

    private void printComparison(PrintWriter out, ModelSpec model, Decoded decoded, List<Integer> batches,
                                 List<Classifier> loaded, List<String> unable, double[][][] results) {
        String auto;
        try {
            auto = Classifier.resolveEngine(model, Classifier.AUTO);
        } catch (ImgscaleException e) {
            auto = "-";
        }
        out.printf(Locale.ROOT, "model              %s (%s, preset %s, max batch %s)%n", model.name(), model.format(), model.preset(),
                model.maxBatch() > 0 ? String.valueOf(model.maxBatch()) : "any");
        out.printf(Locale.ROOT, "machine            %d processors, Java %s, %s %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), System.getProperty("os.name"), System.getProperty("os.arch"));
        out.printf(Locale.ROOT, "images             %d distinct, decode+preprocess %.2f ms/image (one thread)%n",
                decoded.tensors().size(), decoded.msPerImage());
        out.printf(Locale.ROOT, "timing             median of %d interleaved rounds, %.1f s per figure, each after %d warm-up passes%n",
                rounds, seconds, warmup);
        out.printf(Locale.ROOT, "--engine auto      %s%n", auto);
        out.println();
        StringBuilder head1 = new StringBuilder(String.format(Locale.ROOT, "%-12s %7s", "", ""));
        StringBuilder head2 = new StringBuilder(String.format(Locale.ROOT, "%-12s %7s", "engine", "threads"));
        for (int batch : batches) {
            head1.append(String.format(Locale.ROOT, "  %-20s", "batch " + batch));
            head2.append(String.format(Locale.ROOT, "  %9s %10s", "ms/image", "images/s"));
        }
        out.println(head1.toString().stripTrailing());
        out.println(head2);
        double[][] medians = new double[loaded.size()][batches.size()];
        for (int e = 0; e < loaded.size(); e++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-12s %7d", loaded.get(e).engineName(),
                    loaded.get(e).engineThreads()));
            for (int b = 0; b < batches.size(); b++) {
                medians[e][b] = median(results[e][b]);
                row.append(String.format(Locale.ROOT, "  %9.2f %10.1f", medians[e][b], 1000 / medians[e][b]));
            }
            out.println(row);
        }
        for (String line : unable) {
            out.println(line);
        }
        out.println();
        for (int e = 0; e < loaded.size(); e++) {
            StringBuilder spread = new StringBuilder(String.format(Locale.ROOT, "rounds %-12s", loaded.get(e).engineName()));
            for (int b = 0; b < batches.size(); b++) {
                double[] sorted = results[e][b].clone();
                Arrays.sort(sorted);
                spread.append(String.format(Locale.ROOT, "  batch %d: %.2f-%.2f ms/image", batches.get(b), sorted[0], sorted[sorted.length - 1]));
            }
            out.println(spread);
        }
        if (model.maxBatch() > 0 && batches.stream().anyMatch(b -> b > model.maxBatch())) {
            out.printf(Locale.ROOT, "note               this model runs at most %d image(s) per forward pass: larger batches are split%n",
                    model.maxBatch());
        }
        if (loaded.size() > 1) {
            int fastest = 0;
            int last = batches.size() - 1;
            for (int e = 1; e < loaded.size(); e++) {
                if (medians[e][last] < medians[fastest][last]) {
                    fastest = e;
                }
            }
            for (int e = 0; e < loaded.size(); e++) {
                if (e == fastest) {
                    continue;
                }
                StringBuilder ratio = new StringBuilder(String.format(Locale.ROOT, "%s vs %s:", loaded.get(fastest).engineName(),
                        loaded.get(e).engineName()));
                for (int b = 0; b < batches.size(); b++) {
                    ratio.append(String.format(Locale.ROOT, " %.2fx faster at batch %d%s", medians[e][b] / medians[fastest][b], batches.get(b),
                            b < batches.size() - 1 ? "," : ""));
                }
                out.println(ratio);
            }
        }
        out.flush();
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static List<float[]> batchOf(List<float[]> tensors, int batch) {
        List<float[]> out = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            out.add(tensors.get(i % tensors.size()));
        }
        return out;
    }

    /** The tensors of the images that decode, and the one-thread decode + preprocess time. */
    private record Decoded(List<float[]> tensors, long nanos, long count) {
        double msPerImage() {
            return nanos / 1e6 / count;
        }
    }

    /** Decode + preprocess, one thread, every image at least once and for at least a second. */
    private static Decoded decode(Classifier classifier, List<byte[]> encoded) {
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
        return new Decoded(tensors, decodeNanos, decoded);
    }
}
