package dev.imgscale.cli.bench;

import static dev.imgscale.cli.bench.Tables.batchOf;
import static dev.imgscale.cli.bench.Tables.median;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.catalog.ModelSpec;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code imgscale bench --engines}: every engine that can read the model on the same images, at
 * batch 1 and at {@code --batch}, side by side. The engines are loaded together and timed in
 * interleaved rounds, each figure being the median of its rounds, because the development machine
 * is shared: a burst of someone else's work then lands on every engine alike instead of on
 * whichever one happened to be running.
 */
public final class EngineComparison {
    private final PrintWriter out;
    private final ModelSpec model;
    /** Loads the model with the given options (engine and batch set). */
    private final Function<ClassifierOptions, Classifier> opener;
    private final ClassifierOptions base;
    private final String engines;
    private final int rounds;
    private final double seconds;
    private final int warmup;
    private final int largePhotos;

    /**
     * @param engines     {@code all} or a list such as {@code opencv,onnxruntime}
     * @param largePhotos 12 MP JPEGs to make and time the decoder on (0: none)
     */
    public EngineComparison(PrintWriter out, ModelSpec model, Function<ClassifierOptions, Classifier> opener, ClassifierOptions base,
                            String engines, int rounds, double seconds, int warmup, int largePhotos) {
        this.out = out;
        this.model = model;
        this.opener = opener;
        this.base = base;
        this.engines = engines;
        this.rounds = rounds;
        this.seconds = seconds;
        this.warmup = warmup;
        this.largePhotos = largePhotos;
    }

    /** {@code --engines}: every named engine that can read the model, timed side by side. */
    public void run(List<byte[]> encoded) {
        if (rounds < 1) {
            throw new ImgscaleException("--rounds must be at least 1.");
        }
        List<String> wanted = engineList();
        List<Integer> batches = new ArrayList<>(new LinkedHashSet<>(List.of(1, base.batchSize())));
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
                        perBatch[b] = opener.apply(new ClassifierOptions(engine, base.threads(), base.streams(),
                                batches.get(b), base.decodeThreads(), base.topK(), base.limits()));
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
            DecodeBench.Decoded decoded = DecodeBench.oneThread(loaded.get(0)[0].preparer(), encoded);
            DecodeBench.Figures decodeFigures = DecodeBench.measure(loaded.get(0)[0].preparer(), encoded, decoded, largePhotos);
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
            printComparison(decoded, decodeFigures, batches, rows, unable, results);
        } finally {
            closeAll(loaded);
        }
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

    private void printComparison(DecodeBench.Decoded decoded, DecodeBench.Figures decodeFigures, List<Integer> batches,
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
        decodeFigures.print(out, "%-19s");
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
}
