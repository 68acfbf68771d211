package dev.imgscale.cli.bench;

import dev.imgscale.classifier.Classifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Small helpers the benchmarks' tables share: medians, how a classifier runs, a batch of tensors. */
public final class Tables {
    private Tables() {
    }

    public static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** "2 streams x 1 thread": how the classifier runs its passes. */
    public static String streamsText(Classifier classifier) {
        int streams = classifier.streams();
        int threads = classifier.engineThreads();
        return streams + (streams == 1 ? " stream x " : " streams x ") + threads + (threads == 1 ? " thread" : " threads");
    }

    /** {@code batch} tensors taken round-robin from {@code tensors}. */
    public static List<float[]> batchOf(List<float[]> tensors, int batch) {
        List<float[]> out = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            out.add(tensors.get(i % tensors.size()));
        }
        return out;
    }
}
