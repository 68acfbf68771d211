package dev.imgscale.cli;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.catalog.AssetSpec;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.cli.bench.DecodeBench;
import dev.imgscale.cli.bench.EngineComparison;
import dev.imgscale.cli.bench.InferenceBench;
import dev.imgscale.cli.bench.PipelineBench;
import dev.imgscale.daemon.worker.WorkerOptions;
import dev.imgscale.daemon.worker.WorkerRuntime;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * decode + preprocess time per image (on the benchmark images and on large photos, one thread and
 * all cores), inference time per image at the chosen batch size, and the images per second they
 * allow, each after a warm-up ({@link InferenceBench}).
 *
 * <p>With {@code --engines all} it runs every engine that can read the model on the same images, at
 * batch 1 and at {@code --batch}, side by side ({@link EngineComparison}).
 *
 * <p>{@code bench pipeline} (see {@link Pipeline}, {@link PipelineBench}) measures the worker end to
 * end against the same classifier alone.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = BenchCommand.Pipeline.class,
        description = {"Measure a model on this machine: decode+preprocess ms/image, inference ms/image and images/s, after a warm-up.",
            "--engines all: every engine that can read the model side by side, at batch 1 and --batch.",
            "bench pipeline --images N: one worker end to end against the embedded local stack, beside the classifier alone.",
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

    @Option(names = "--large", paramLabel = "N", defaultValue = "2",
            description = {"12 MP (4032x3024) JPEGs to make from the images and time the decoder on, scaled and at full size",
                "(default: ${DEFAULT-VALUE}; 0: none)."})
    int large;

    @Parameters(arity = "0..*", paramLabel = "FILE|DIR", description = "Images to use (default: the development images).")
    List<Path> paths = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ModelCatalog catalog = ModelCatalog.builtIn();
        AssetResolver resolver = AssetResolver.fromEnvironment(root.env());
        ProgressBarListener progress = new ProgressBarListener(spec.commandLine().getErr());
        List<byte[]> encoded = new ArrayList<>();
        for (Path p : images(paths, catalog, resolver, progress)) {
            encoded.add(Files.readAllBytes(p));
        }
        if (large < 0) {
            throw new ImgscaleException("--large must be 0 or more.");
        }
        ModelSpec model = modelOptions.spec(catalog);
        if (engines != null) {
            new EngineComparison(out, model, options -> modelOptions.open(model, resolver, options, progress), modelOptions.options(),
                    engines, rounds, seconds, warmup, large).run(encoded);
            return ExitCodes.OK;
        }
        try (Classifier classifier = modelOptions.open(model, resolver, modelOptions.options(), progress)) {
            InferenceBench.run(out, model, classifier, encoded, modelOptions.batch, warmup, seconds, large);
        }
        return ExitCodes.OK;
    }

    /** The files given, or the development images. */
    static List<Path> images(List<Path> paths, ModelCatalog catalog, AssetResolver resolver, ProgressBarListener progress)
            throws IOException {
        List<Path> images = new ArrayList<>();
        if (paths.isEmpty()) {
            for (AssetSpec a : catalog.dataset("dev-images")) {
                images.add(resolver.resolve(a, progress));
            }
        } else {
            images.addAll(ImageFiles.expand(paths).images());
        }
        return images;
    }

    /**
     * {@code imgscale bench pipeline --images N}: the worker end to end beside the classifier alone
     * (see {@link PipelineBench}). A benchmark that prints figures, not a test.
     */
    @Command(name = "pipeline", mixinStandardHelpOptions = true,
            description = {"One worker end to end: S3, SQS and the worker in this process, N images uploaded and classified.",
                "Prints end-to-end images/s beside the classifier alone (decode, then infer, a batch at a time;",
                "same engine, threads and batch, which is the worker's 10 unless --batch is given) and their ratio."})
    static final class Pipeline implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Spec
        CommandSpec spec;

        @Mixin
        VerboseMixin verbose;

        @Mixin
        ModelOptions modelOptions;

        @Option(names = "--images", paramLabel = "N", defaultValue = "200", description = "Images to classify end to end (default: ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "--rounds", paramLabel = "N", defaultValue = "5",
                description = "Rounds of worker then classifier alone; figures are their medians (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--downloads", paramLabel = "N", defaultValue = "0",
                description = "The worker's concurrent downloads (default: the worker's, " + WorkerOptions.DEFAULT_DOWNLOAD_CONCURRENCY + ").")
        int downloads;

        @Option(names = "--decode-threads", paramLabel = "N|auto", defaultValue = "auto", converter = WorkerCommand.DecodeThreads.class,
                description = "The worker's images decoded at once, as worker --decode-threads (default: ${DEFAULT-VALUE}).")
        int decodeThreads;

        @Option(names = "--large", paramLabel = "N", defaultValue = "0",
                description = "Upload copies of N 12 MP (4032x3024) JPEGs made from the images instead of the images themselves (default: none).")
        int large;

        @Parameters(arity = "0..*", paramLabel = "FILE|DIR", description = "Images to copy up to N (default: the development images).")
        List<Path> paths = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (count < 1 || rounds < 1) {
                throw new ImgscaleException("--images and --rounds must be at least 1.");
            }
            if (large < 0) {
                throw new ImgscaleException("--large must be 0 or more.");
            }
            if (!VerboseMixin.isVerbose()) {
                // one line per batch would bury the figures; -v shows them
                System.setProperty("org.slf4j.simpleLogger.log.dev.imgscale.daemon.worker", "warn");
                System.setProperty("org.slf4j.simpleLogger.log.dev.imgscale.daemon.local", "warn");
            }
            PrintWriter out = spec.commandLine().getOut();
            Map<String, String> env = parent.root.env();
            ModelCatalog catalog = ModelCatalog.builtIn();
            AssetResolver resolver = AssetResolver.fromEnvironment(env);
            ProgressBarListener progress = new ProgressBarListener(spec.commandLine().getErr());
            List<String> names = new ArrayList<>();
            List<byte[]> images = new ArrayList<>();
            for (Path file : images(paths, catalog, resolver, progress)) {
                names.add(file.getFileName().toString());
                images.add(Files.readAllBytes(file));
            }
            if (large > 0) {
                images = DecodeBench.largePhotos(images, large);
                names.clear();
                for (int i = 0; i < images.size(); i++) {
                    names.add("large-" + i + ".jpg");
                }
            }
            ModelSpec model = modelOptions.spec(catalog);
            // the worker's own forward batch unless --batch is given (the shared option's default is bench's 8)
            boolean batchGiven = spec.commandLine().getParseResult().hasMatchedOption("--batch");
            ClassifierOptions base = modelOptions.options();
            ClassifierOptions options = batchGiven ? base : base.withBatchSize(WorkerRuntime.DEFAULT_BATCH_SIZE);
            // as a worker starts: ONNX Runtime's natives from the cache (and so made there, at bake time)
            WorkerRuntime.useCachedNatives(model, options, env);
            new PipelineBench(out, model, options, o -> modelOptions.open(model, resolver, o, progress), count, rounds, downloads,
                    decodeThreads).run(names, images);
            return ExitCodes.OK;
        }
    }
}
