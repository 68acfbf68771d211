package dev.imgscale.classifier.engine;

import dev.imgscale.classifier.NotThreadSafe;

/**
 * One loaded network. Not thread-safe: an engine runs one forward pass at a time, so a shared
 * {@link dev.imgscale.classifier.Classifier} guards its engine with a lock.
 */
@NotThreadSafe
public interface Engine extends AutoCloseable {
    /** The engine's name as {@code --engine} spells it. */
    String name();

    /**
     * Runs one forward pass over {@code count} images laid out back to back in {@code input}
     * (each the model's input tensor length), and returns each image's raw output row
     * (int8 outputs already dequantised).
     */
    float[][] run(float[] input, int count);

    @Override
    void close();
}
