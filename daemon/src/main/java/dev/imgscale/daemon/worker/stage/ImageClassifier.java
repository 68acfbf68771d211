package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.Prediction;
import dev.imgscale.classifier.decode.ImageRejectedException;
import java.util.List;
import java.util.Objects;

/**
 * What the worker needs of a classifier, and no more: the seam where unit tests put a fake (chosen
 * labels, errors, delays, no model) and production the {@link Classifier} ({@link #of}). Decoding
 * and inference are separate calls so that the classify stage can place them apart.
 */
public interface ImageClassifier {
    /** The engine's name, for the start-up log. */
    String engineName();

    /** Threads each engine stream runs a forward pass on. */
    int engineThreads();

    /** Engine streams: forward passes that can run side by side. */
    int streams();

    /** Images per forward pass. */
    int batchSize();

    /** Images decoded at once, at most. */
    int decodeThreads();

    /** The largest encoded image accepted, in bytes: larger ones are not downloaded. */
    long maxImageBytes();

    /** Decodes and preprocesses one encoded image into the model's input. */
    float[] decode(byte[] encoded) throws ImageRejectedException;

    /** The top-k labels of each input, in order. */
    List<List<Prediction>> infer(List<float[]> tensors);

    /** The real classifier behind this seam. */
    static ImageClassifier of(Classifier classifier) {
        Objects.requireNonNull(classifier, "classifier");
        return new ImageClassifier() {
            @Override
            public String engineName() {
                return classifier.engineName();
            }

            @Override
            public int engineThreads() {
                return classifier.engineThreads();
            }

            @Override
            public int streams() {
                return classifier.streams();
            }

            @Override
            public int batchSize() {
                return classifier.options().batchSize();
            }

            @Override
            public int decodeThreads() {
                return classifier.options().decodeThreads();
            }

            @Override
            public long maxImageBytes() {
                return classifier.options().limits().maxBytes();
            }

            @Override
            public float[] decode(byte[] encoded) throws ImageRejectedException {
                return classifier.prepare(encoded);
            }

            @Override
            public List<List<Prediction>> infer(List<float[]> tensors) {
                return classifier.infer(tensors);
            }

            @Override
            public String toString() {
                return "ImageClassifier.of(" + classifier.model().name() + ")";
            }
        };
    }
}
