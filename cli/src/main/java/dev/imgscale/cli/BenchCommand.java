package dev.imgscale.cli;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.catalog.AssetSpec;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.classifier.Prediction;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.UploadItem;
import dev.imgscale.daemon.client.UploadListener;
import dev.imgscale.daemon.client.UploadReport;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackProvisioner;
import dev.imgscale.daemon.worker.Worker;
import dev.imgscale.daemon.worker.WorkerOptions;
import dev.imgscale.daemon.worker.WorkerRuntime;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
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
 *
 * <p>{@code bench pipeline} (see {@link Pipeline}) measures the worker end to end against the same
 * classifier alone.
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
            int streams = classifier.streams();
            // a pass for every stream at once: ms/image is then the wall time over the images
            List<float[]> batchTensors = batchOf(tensors, batch * streams);
            for (int i = 0; i < warmup; i++) {
                classifier.probabilities(batchTensors);
            }
            long inferNanos = 0;
            long rounds = 0;
            long stop = System.nanoTime() + (long) (seconds * 1e9);
            while (rounds < 3 || System.nanoTime() < stop) {
                long t0 = System.nanoTime();
                classifier.probabilities(batchTensors);
                inferNanos += System.nanoTime() - t0;
                rounds++;
            }
            double decodeMs = decoded.msPerImage();
            double inferMs = inferNanos / 1e6 / (rounds * batchTensors.size());
            // decoding takes turns with inference on the same cores: one thread's decode time,
            // spread over the cores the streams use
            int cores = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), streams * classifier.engineThreads()));
            out.printf(Locale.ROOT, "model                     %s (%s, engine %s, %s, batch %d)%n", model.name(), model.format(),
                    classifier.engineName(), streamsText(classifier), batch);
            out.printf(Locale.ROOT, "images                    %d distinct, %d decodes timed%n", tensors.size(), decoded.count());
            out.printf(Locale.ROOT, "decode+preprocess         %.2f ms/image (one thread)%n", decodeMs);
            out.printf(Locale.ROOT, "inference                 %.2f ms/image (%d x %d passes of %d at once)%n", inferMs, rounds, streams, batch);
            out.printf(Locale.ROOT, "inference throughput      %.1f images/s%n", 1000 / inferMs);
            out.printf(Locale.ROOT, "sequential end to end     %.1f images/s (decode then infer, no overlap)%n",
                    1000 / (decodeMs / cores + inferMs));
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
                        perBatch[b] = modelOptions.open(model, resolver, new ClassifierOptions(engine, base.threads(), base.streams(),
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
                    List<float[]> batchTensors = batchOf(decoded.tensors(), batches.get(b) * perBatch[b].streams());
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
                        Classifier c = loaded.get(e)[b];
                        results[e][b][r] = time(c, batchOf(decoded.tensors(), batches.get(b) * c.streams()), slice);
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

    /** "2 streams x 1 thread": how the classifier runs its passes. */
    static String streamsText(Classifier classifier) {
        int streams = classifier.streams();
        int threads = classifier.engineThreads();
        return streams + (streams == 1 ? " stream x " : " streams x ") + threads + (threads == 1 ? " thread" : " threads");
    }

    /**
     * Mean wall ms/image of whole calls (a pass per stream, side by side) over {@code budget}
     * nanoseconds (at least one call).
     */
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
        StringBuilder head2 = new StringBuilder(String.format(Locale.ROOT, "%-12s %7s", "engine", "streams"));
        for (int batch : batches) {
            head1.append(String.format(Locale.ROOT, "  %-20s", "batch " + batch));
            head2.append(String.format(Locale.ROOT, "  %9s %10s", "ms/image", "images/s"));
        }
        out.println(head1.toString().stripTrailing());
        out.println(head2);
        double[][] medians = new double[loaded.size()][batches.size()];
        for (int e = 0; e < loaded.size(); e++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-12s %7s", loaded.get(e).engineName(),
                    loaded.get(e).streams() + "x" + loaded.get(e).engineThreads()));
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

    /**
     * {@code imgscale bench pipeline --images N}: the worker end to end beside the classifier alone.
     * Starts the embedded local stack in this process, uploads N images (copies of the development
     * images, or of the files given), then runs one worker in this process, with the same classifier
     * instance (engine, threads, batch), until every image has its result. Prints end-to-end
     * images/s; classifier-only images/s on the same images, decoding then inferring one batch after
     * the other on one thread as a worker without a pipeline would (timed before and after the
     * worker, so that a change in the machine's load shows); inference alone; and the pipeline
     * efficiency, end to end over classifier-only. A benchmark that prints figures, not a test.
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

        /**
         * Images the worker classifies end to end before the rounds that count: the JIT compiles the
         * worker's and the embedded servers' paths over the first few hundred (C1 only, the
         * launcher's default: 2.7-3.3 ms of compiling per image in a first round after 200 images of
         * warm-up, 0.9-1.0 in the next).
         */
        private static final int WARM_UP_IMAGES = 400;

        @Option(names = "--images", paramLabel = "N", defaultValue = "200", description = "Images to classify end to end (default: ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "--rounds", paramLabel = "N", defaultValue = "5",
                description = "Rounds of worker then classifier alone; figures are their medians (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--downloads", paramLabel = "N", defaultValue = "0",
                description = "The worker's concurrent downloads (default: the worker's, " + WorkerOptions.DEFAULT_DOWNLOAD_CONCURRENCY + ").")
        int downloads;

        @Parameters(arity = "0..*", paramLabel = "FILE|DIR", description = "Images to copy up to N (default: the development images).")
        List<Path> paths = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (count < 1 || rounds < 1) {
                throw new ImgscaleException("--images and --rounds must be at least 1.");
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
            List<Path> files = new ArrayList<>();
            if (paths.isEmpty()) {
                for (AssetSpec a : catalog.dataset("dev-images")) {
                    files.add(resolver.resolve(a, progress));
                }
            } else {
                files.addAll(ImageFiles.expand(paths).images());
            }
            List<UploadItem> items = new ArrayList<>(count);
            List<byte[]> encoded = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                Path file = files.get(i % files.size());
                byte[] bytes = Files.readAllBytes(file);
                items.add(UploadItem.ofBytes(i + "/" + file.getFileName(), bytes));
                encoded.add(bytes);
            }
            ModelSpec model = modelOptions.spec(catalog);
            // the worker's own forward batch unless --batch is given (the shared option's default is bench's 8)
            boolean batchGiven = spec.commandLine().getParseResult().hasMatchedOption("--batch");
            ClassifierOptions base = modelOptions.options();
            ClassifierOptions options = batchGiven ? base : base.withBatchSize(WorkerRuntime.DEFAULT_BATCH_SIZE);
            // as a worker starts: ONNX Runtime's natives from the cache (and so made there, at bake time)
            WorkerRuntime.useCachedNatives(model, options, env);
            double loadBefore = loadAverage();
            Path home = Files.createTempDirectory("imgscale-bench-pipeline");
            try (Classifier classifier = modelOptions.open(model, resolver, options, progress);
                 LocalStack local = LocalStack.start(home, 0, 0);
                 AwsClients clients = new AwsClients(local.settings())) {
                StackConfig config = StackProvisioner.initLocal(local, clients, Map.of());
                StackContext stack = new StackContext(config, clients);
                // warm-up, for both measurements alike: every engine stream's first passes, and the JIT
                // on the worker's paths (the SDK clients and the in-process S3 and SQS servers), whose
                // first few hundred requests run slower than the rest
                for (int i = 0; i < 2; i++) {
                    classifierOnly(classifier, encoded.subList(0, Math.min(encoded.size(), options.batchSize() * classifier.streams())));
                }
                for (int warmed = 0; warmed < WARM_UP_IMAGES; warmed += items.size()) {
                    endToEnd(classifier, model, stack, items.subList(0, Math.min(items.size(), WARM_UP_IMAGES - warmed)));
                }
                // Rounds of: the classifier alone, then the worker, ..., then the classifier alone;
                // each round's efficiency is the worker over the mean of the two classifier-only
                // runs beside it, so that a change in the machine's load hits both sides alike.
                List<Sequential> alone = new ArrayList<>();
                List<EndToEnd> worker = new ArrayList<>();
                alone.add(classifierOnly(classifier, encoded));
                for (int r = 0; r < rounds; r++) {
                    worker.add(endToEnd(classifier, model, stack, items));
                    alone.add(classifierOnly(classifier, encoded));
                }
                double loadAfter = loadAverage();
                out.printf(Locale.ROOT, "model                %s (%s, engine %s, %s, batch %d)%n", model.name(), model.format(),
                        classifier.engineName(), streamsText(classifier), options.batchSize());
                out.printf(Locale.ROOT, "machine              %d processors, Java %s; load average %.2f before, %.2f after%n",
                        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), loadBefore, loadAfter);
                out.printf(Locale.ROOT, "images               %d per round (copies of %d files), %d labelled, %d errors%n", count,
                        files.size(), worker.get(0).processed() - worker.get(0).failed(), worker.get(0).failed());
                out.printf(Locale.ROOT, "worker               %s; worker, S3 and SQS in this process%n", worker.get(0).settings());
                out.println();
                out.printf(Locale.ROOT, "%-6s %11s %16s %15s %11s   %s%n", "round", "end to end", "classifier only", "inference only",
                        "efficiency", "CPU ms/image: end to end (S3+SQS servers, JIT), classifier only");
                out.printf(Locale.ROOT, "%-6s %11s %16s %15s %11s%n", "", "images/s", "images/s", "images/s", "");
                double[] efficiency = new double[rounds];
                double[] ofInference = new double[rounds];
                double[] endToEnd = new double[rounds];
                double[] sequential = new double[rounds];
                double[] inference = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    Sequential before = alone.get(r);
                    Sequential after = alone.get(r + 1);
                    endToEnd[r] = worker.get(r).imagesPerSecond();
                    sequential[r] = (before.imagesPerSecond() + after.imagesPerSecond()) / 2;
                    inference[r] = (before.inferenceImagesPerSecond() + after.inferenceImagesPerSecond()) / 2;
                    efficiency[r] = endToEnd[r] / sequential[r];
                    ofInference[r] = endToEnd[r] / inference[r];
                    out.printf(Locale.ROOT, "%-6d %11.1f %16.1f %15.1f %11.2f   %.1f (%.1f, %.1f), %.1f%n", r + 1, endToEnd[r], sequential[r],
                            inference[r], efficiency[r], worker.get(r).cpuMsPerImage(), worker.get(r).serverCpuMsPerImage(),
                            worker.get(r).jitMsPerImage(), (before.cpuMsPerImage() + after.cpuMsPerImage()) / 2);
                }
                double decodeMs = alone.stream().mapToDouble(Sequential::decodeMs).average().orElse(0);
                double inferMs = alone.stream().mapToDouble(Sequential::inferMs).average().orElse(0);
                out.println();
                out.printf(Locale.ROOT, "end to end           %.1f images/s (median of %d rounds of %d images)%n", median(endToEnd), rounds,
                        count);
                out.printf(Locale.ROOT, "classifier only      %.1f images/s (decode %.2f + infer %.2f ms/image one after the other, on each of %d %s)%n",
                        median(sequential), decodeMs, inferMs, classifier.streams(), classifier.streams() == 1 ? "stream" : "streams side by side");
                out.printf(Locale.ROOT, "inference only       %.1f images/s%n", median(inference));
                out.printf(Locale.ROOT, "pipeline efficiency  %.2f of classifier only, %.2f of inference only (medians; rounds %.2f-%.2f)%n",
                        median(efficiency), median(ofInference), Arrays.stream(efficiency).min().orElse(0),
                        Arrays.stream(efficiency).max().orElse(0));
                out.flush();
            } finally {
                deleteTree(home);
            }
            return ExitCodes.OK;
        }

        /** The worker's run over the uploaded images. */
        private record EndToEnd(long processed, long failed, double seconds, long cpuNanos, long serverCpuNanos, long jitMillis,
                                String settings) {
            double serverCpuMsPerImage() {
                return serverCpuNanos / 1e6 / processed;
            }

            /** The JIT compilers' time (HotSpot's figure, close to their CPU time) per image. */
            double jitMsPerImage() {
                return (double) jitMillis / processed;
            }

            double imagesPerSecond() {
                return processed / seconds;
            }

            double cpuMsPerImage() {
                return cpuNanos / 1e6 / processed;
            }
        }

        /**
         * Uploads the images as a new job (not timed), then runs a new worker with the classifier
         * until every image has its result, timed from the worker's start.
         */
        private EndToEnd endToEnd(Classifier classifier, ModelSpec model, StackContext stack, List<UploadItem> items)
                throws InterruptedException {
            JobClient client = new JobClient(stack, Clock.systemUTC());
            UploadReport report = client.upload(items, 8, UploadListener.NONE);
            if (!report.failures().isEmpty()) {
                throw new ImgscaleException("Could not upload " + report.failures().size() + " image(s) to the local stack: "
                        + report.failures().get(0).reason());
            }
            WorkerOptions workerOptions = WorkerOptions.defaults(stack.config()).withModel(model.name()).withWorkerId("bench");
            if (downloads > 0) {
                workerOptions = workerOptions.withDownloadConcurrency(downloads);
            }
            Worker worker = new Worker(classifier, stack.requests(), stack.results(), stack.input(), stack.output(), Clock.systemUTC(),
                    workerOptions);
            Thread thread = new Thread(worker::run, "imgscale-bench-worker");
            long cpu0 = processCpuNanos();
            long server0 = serverCpuNanos();
            long jit0 = jitMillis();
            long t0 = System.nanoTime();
            thread.start();
            long deadline = t0 + java.time.Duration.ofMinutes(30).toNanos();
            while (worker.processed() < items.size() && thread.isAlive()) {
                if (System.nanoTime() > deadline) {
                    throw new ImgscaleException("The worker did not finish " + items.size() + " images within 30 minutes.");
                }
                Thread.sleep(5);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            long cpu = processCpuNanos() - cpu0;
            long serverCpu = serverCpuNanos() - server0;
            long jit = jitMillis() - jit0;
            worker.beginShutdown();
            worker.awaitShutdown(java.time.Duration.ofMinutes(1));
            int results = client.resultNames(report.job()).size();
            if (results != items.size() || worker.processed() != items.size()) {
                throw new ImgscaleException("The worker finished " + worker.processed() + " of " + items.size() + " images with "
                        + results + " results (left " + worker.left() + "); the figure would be wrong.");
            }
            String settings = String.format(Locale.ROOT, "%d requests per poll, %d downloads at once, decoding %s; %d batches per round",
                    workerOptions.maxMessages(), workerOptions.downloadConcurrency(), worker.decoding(), worker.batches());
            return new EndToEnd(worker.processed(), worker.failed(), seconds, cpu, serverCpu, jit, settings);
        }

        /**
         * The classifier alone over the same images, as a worker without a pipeline would run it:
         * a thread per engine stream, each taking the next batch, decoding it on its own thread and
         * inferring it, and so on ({@code wallNanos}, {@code cpuNanos}; {@code decodeNanos} and
         * {@code inferNanos} summed over the threads); then the same batches' tensors inferred again
         * with nothing else running ({@code inferOnlyNanos}, wall time).
         */
        private record Sequential(int images, int streams, long wallNanos, long decodeNanos, long inferNanos, long inferOnlyNanos,
                                  long cpuNanos) {
            double cpuMsPerImage() {
                return cpuNanos / 1e6 / images;
            }

            double imagesPerSecond() {
                return images * 1e9 / wallNanos;
            }

            double inferenceImagesPerSecond() {
                return images * 1e9 / inferOnlyNanos;
            }

            /** One thread's decode + preprocess time per image. */
            double decodeMs() {
                return decodeNanos / 1e6 / images;
            }

            /** One stream's inference time per image (the streams run side by side). */
            double inferMs() {
                return inferNanos / 1e6 / images;
            }
        }

        private static Sequential classifierOnly(Classifier classifier, List<byte[]> encoded) {
            int batch = classifier.options().batchSize();
            int streams = classifier.streams();
            List<List<byte[]>> batches = new ArrayList<>();
            for (int start = 0; start < encoded.size(); start += batch) {
                batches.add(encoded.subList(start, Math.min(encoded.size(), start + batch)));
            }
            List<List<float[]>> tensors = new ArrayList<>(java.util.Collections.nCopies(batches.size(), List.<float[]>of()));
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicLong decodeNanos = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicLong inferNanos = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicInteger images = new java.util.concurrent.atomic.AtomicInteger();
            long cpu0 = processCpuNanos();
            long wall = inParallel(streams, () -> {
                for (int b = next.getAndIncrement(); b < batches.size(); b = next.getAndIncrement()) {
                    long t0 = System.nanoTime();
                    List<float[]> prepared = new ArrayList<>(batch);
                    for (byte[] bytes : batches.get(b)) {
                        try {
                            prepared.add(classifier.prepare(bytes));
                        } catch (ImageRejectedException e) {
                            // the worker writes an error result for it; no inference either way
                        }
                    }
                    long t1 = System.nanoTime();
                    List<List<Prediction>> labels = classifier.infer(prepared);
                    long t2 = System.nanoTime();
                    decodeNanos.addAndGet(t1 - t0);
                    inferNanos.addAndGet(t2 - t1);
                    images.addAndGet(labels.size());
                    tensors.set(b, prepared);
                }
            });
            long cpu = processCpuNanos() - cpu0;
            if (images.get() == 0) {
                throw new ImgscaleException("None of the benchmark images could be decoded.");
            }
            next.set(0);
            long inferOnly = inParallel(streams, () -> {
                for (int b = next.getAndIncrement(); b < tensors.size(); b = next.getAndIncrement()) {
                    if (!tensors.get(b).isEmpty()) {
                        classifier.infer(tensors.get(b));
                    }
                }
            });
            return new Sequential(images.get(), streams, wall, decodeNanos.get(), inferNanos.get(), inferOnly, cpu);
        }

        /** Runs the task on {@code threads} threads at once and returns the wall nanoseconds until all end. */
        private static long inParallel(int threads, Runnable task) {
            List<Thread> running = new ArrayList<>();
            AtomicReference<RuntimeException> failure = new AtomicReference<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> {
                    try {
                        task.run();
                    } catch (RuntimeException e) {
                        failure.compareAndSet(null, e);
                    }
                }, "imgscale-bench-stream");
                t.start();
                running.add(t);
            }
            for (Thread t : running) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ImgscaleException("Interrupted while benchmarking.", e);
                }
            }
            if (failure.get() != null) {
                throw failure.get();
            }
            return System.nanoTime() - t0;
        }

        /**
         * CPU time this process has used (every thread, the in-process S3 and SQS included): unlike
         * wall time, it does not depend on how much of the machine other work takes.
         */
        private static long processCpuNanos() {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                return os.getProcessCpuTime();
            }
            return 0;
        }

        /**
         * CPU time of the live threads of the in-process S3 and SQS servers (S3Proxy's Jetty,
         * ElasticMQ's Pekko): work that a worker on EC2 leaves to AWS, but that here takes the
         * same two cores as the worker. A server thread that ended meanwhile is not counted, so
         * this is a floor.
         */
        private static long serverCpuNanos() {
            java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long sum = 0;
            for (java.lang.management.ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
                if (info != null && (info.getThreadName().startsWith("S3Proxy") || info.getThreadName().startsWith("elasticmq"))) {
                    long t = threads.getThreadCpuTime(info.getThreadId());
                    sum += Math.max(0, t);
                }
            }
            return sum;
        }

        /** Milliseconds the JIT compilers have spent compiling in this process. */
        private static long jitMillis() {
            java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
            return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
        }

        private static double loadAverage() {
            return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        }

        private static void deleteTree(Path root) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // a temp folder; the OS cleans it eventually
                    }
                });
            } catch (IOException ignored) {
                // as above
            }
        }
    }
}
