package dev.imgscale.cli.bench;

import static dev.imgscale.cli.bench.Tables.batchOf;
import static dev.imgscale.cli.bench.Tables.streamsText;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.DecodeSplit;
import dev.imgscale.classifier.catalog.ModelSpec;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * {@code imgscale bench} with one engine: decode + preprocess ms/image (one thread; and on large
 * photos and all cores), inference ms/image at the batch size with every stream running a pass at
 * once, the images/s they allow, and the decode split {@link DecodeSplit} picks from their CPU times.
 */
public final class InferenceBench {
    private static final String LABEL = "%-26s";

    private InferenceBench() {
    }

    /**
     * @param largePhotos 12 MP JPEGs to make and time the decoder on (0: none)
     */
    public static void run(PrintWriter out, ModelSpec model, Classifier classifier, List<byte[]> encoded, int batch, int warmup,
                           double seconds, int largePhotos) {
        DecodeBench.Decoded decoded = DecodeBench.oneThread(classifier.preparer(), encoded);
        DecodeBench.Figures decodeFigures = DecodeBench.measure(classifier.preparer(), encoded, decoded, largePhotos);
        List<float[]> tensors = decoded.tensors();
        int streams = classifier.streams();
        // a pass for every stream at once: ms/image is then the wall time over the images
        List<float[]> batchTensors = batchOf(tensors, batch * streams);
        for (int i = 0; i < warmup; i++) {
            classifier.probabilities(batchTensors);
        }
        long inferNanos = 0;
        long rounds = 0;
        long cpu0 = ProcessMetrics.processCpuNanos();
        long stop = System.nanoTime() + (long) (seconds * 1e9);
        while (rounds < 3 || System.nanoTime() < stop) {
            long t0 = System.nanoTime();
            classifier.probabilities(batchTensors);
            inferNanos += System.nanoTime() - t0;
            rounds++;
        }
        // the process's CPU time over the passes (its other threads idle meanwhile): what an image
        // costs the cores, which a loaded machine inflates far less than the wall time
        double inferCpuMs = (ProcessMetrics.processCpuNanos() - cpu0) / 1e6 / (rounds * batchTensors.size());
        double decodeMs = decoded.msPerImage();
        double inferMs = inferNanos / 1e6 / (rounds * batchTensors.size());
        // decoding takes turns with inference on the same cores: one thread's decode time,
        // spread over the cores the streams use
        int cores = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), streams * classifier.engineThreads()));
        out.printf(Locale.ROOT, "model                     %s (%s, engine %s, %s, batch %d)%n", model.name(), model.format(),
                classifier.engineName(), streamsText(classifier), batch);
        out.printf(Locale.ROOT, "images                    %d distinct, %d decodes timed%n", tensors.size(), decoded.count());
        out.printf(Locale.ROOT, "decode+preprocess         %.2f ms/image (one thread)%n", decodeMs);
        decodeFigures.print(out, LABEL);
        out.printf(Locale.ROOT, "inference                 %.2f ms/image (%d x %d passes of %d at once)%n", inferMs, rounds, streams, batch);
        out.printf(Locale.ROOT, "inference throughput      %.1f images/s%n", 1000 / inferMs);
        out.printf(Locale.ROOT, LABEL + "%.2f ms/image of CPU time (all threads of the process over the passes)%n", "inference CPU", inferCpuMs);
        out.printf(Locale.ROOT, "sequential end to end     %.1f images/s (decode then infer, no overlap)%n",
                1000 / (decodeMs / cores + inferMs));
        // from CPU times, which the machine's load inflates far less than wall times: a stream's pass
        // per image is the inference CPU per image over its threads
        double streamMs = inferCpuMs / classifier.engineThreads();
        DecodeSplit split = DecodeSplit.choose(classifier, decodeFigures.cpuMs(), streamMs, 0);
        // what the worker's tuner (worker --decode-threads auto) would choose from these CPU times
        out.printf(Locale.ROOT, LABEL + "%s (benchmark images, as worker --decode-threads auto would choose)", "decode split", split);
        if (decodeFigures.largeCount() > 0) {
            DecodeSplit large = DecodeSplit.choose(classifier, decodeFigures.largeCpuMs(), streamMs, 0);
            out.printf(Locale.ROOT, "; %d, %.1f images/s on the large photos", large.decodeThreads(), large.imagesPerSecond());
        }
        out.println();
        out.flush();
    }
}
