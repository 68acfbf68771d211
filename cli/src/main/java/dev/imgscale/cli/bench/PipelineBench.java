package dev.imgscale.cli.bench;

import static dev.imgscale.cli.bench.Tables.median;
import static dev.imgscale.cli.bench.Tables.streamsText;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.Prediction;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.decode.ImageRejectedException;
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
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * {@code imgscale bench pipeline}: the worker end to end beside the classifier alone. Starts the
 * embedded local stack in this process, uploads N images (copies of the images given), then runs
 * one worker in this process, with the same classifier instance (engine, threads, batch), until
 * every image has its result. Prints end-to-end images/s; classifier-only images/s on the same
 * images, decoding then inferring one batch after the other on one thread as a worker without a
 * pipeline would (timed before and after the worker, so that a change in the machine's load
 * shows); inference alone; and the pipeline efficiency, end to end over classifier-only.
 */
public final class PipelineBench {
    /**
     * Images the worker classifies end to end before the rounds that count: the JIT compiles the
     * worker's and the embedded servers' paths over the first few hundred (C1 only, the
     * launcher's default: 2.7-3.3 ms of compiling per image in a first round after 200 images of
     * warm-up, 0.9-1.0 in the next).
     */
    private static final int WARM_UP_IMAGES = 400;

    private final PrintWriter out;
    private final ModelSpec model;
    private final ClassifierOptions options;
    private final Function<ClassifierOptions, Classifier> opener;
    private final int count;
    private final int rounds;
    private final int downloads;

    /**
     * @param options   the classifier's options (the worker's batch unless one was given)
     * @param opener    loads the model with those options
     * @param count     images per round
     * @param downloads the worker's concurrent downloads (0: the worker's default)
     */
    public PipelineBench(PrintWriter out, ModelSpec model, ClassifierOptions options, Function<ClassifierOptions, Classifier> opener,
                         int count, int rounds, int downloads) {
        this.out = out;
        this.model = model;
        this.options = options;
        this.opener = opener;
        this.count = count;
        this.rounds = rounds;
        this.downloads = downloads;
    }

    /** Runs the benchmark on {@code count} copies of the images (file names and contents) and prints its figures. */
    public void run(List<String> names, List<byte[]> images) throws IOException, InterruptedException {
        List<UploadItem> items = new ArrayList<>(count);
        List<byte[]> encoded = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            byte[] bytes = images.get(i % images.size());
            items.add(UploadItem.ofBytes(i + "/" + names.get(i % names.size()), bytes));
            encoded.add(bytes);
        }
        double loadBefore = ProcessMetrics.loadAverage();
        Path home = Files.createTempDirectory("imgscale-bench-pipeline");
        try (Classifier classifier = opener.apply(options);
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
            double loadAfter = ProcessMetrics.loadAverage();
            out.printf(Locale.ROOT, "model                %s (%s, engine %s, %s, batch %d)%n", model.name(), model.format(),
                    classifier.engineName(), streamsText(classifier), options.batchSize());
            out.printf(Locale.ROOT, "machine              %d processors, Java %s; load average %.2f before, %.2f after%n",
                    Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), loadBefore, loadAfter);
            out.printf(Locale.ROOT, "images               %d per round (copies of %d files), %d labelled, %d errors%n", count,
                    names.size(), worker.get(0).processed() - worker.get(0).failed(), worker.get(0).failed());
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
        long cpu0 = ProcessMetrics.processCpuNanos();
        long server0 = ProcessMetrics.serverCpuNanos();
        long jit0 = ProcessMetrics.jitMillis();
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
        long cpu = ProcessMetrics.processCpuNanos() - cpu0;
        long serverCpu = ProcessMetrics.serverCpuNanos() - server0;
        long jit = ProcessMetrics.jitMillis() - jit0;
        worker.beginShutdown();
        worker.awaitShutdown(java.time.Duration.ofMinutes(1));
        int results = client.progress(client.requireManifest(report.job())).done();
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
        List<List<float[]>> tensors = new ArrayList<>(Collections.nCopies(batches.size(), List.<float[]>of()));
        AtomicInteger next = new AtomicInteger();
        AtomicLong decodeNanos = new AtomicLong();
        AtomicLong inferNanos = new AtomicLong();
        AtomicInteger images = new AtomicInteger();
        long cpu0 = ProcessMetrics.processCpuNanos();
        long wall = Parallel.run(streams, "imgscale-bench-stream", () -> {
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
        long cpu = ProcessMetrics.processCpuNanos() - cpu0;
        if (images.get() == 0) {
            throw new ImgscaleException("None of the benchmark images could be decoded.");
        }
        next.set(0);
        long inferOnly = Parallel.run(streams, "imgscale-bench-stream", () -> {
            for (int b = next.getAndIncrement(); b < tensors.size(); b = next.getAndIncrement()) {
                if (!tensors.get(b).isEmpty()) {
                    classifier.infer(tensors.get(b));
                }
            }
        });
        return new Sequential(images.get(), streams, wall, decodeNanos.get(), inferNanos.get(), inferOnly, cpu);
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
