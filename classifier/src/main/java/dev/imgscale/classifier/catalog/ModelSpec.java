package dev.imgscale.classifier.catalog;

import java.util.Locale;

/**
 * Everything needed to run one model: where its file comes from, its format, how to feed it and
 * how to read its output, and which label list names its classes.
 *
 * @param format   {@code tflite} or {@code onnx}
 * @param maxBatch the most images one forward pass may hold (0 = no limit); larger batches are split
 */
public record ModelSpec(String name, String description, AssetSpec asset, String format, String preset,
                        InputSpec input, OutputSpec output, LabelSet labels, int maxBatch) {

    /** The format implied by a file name's extension, or null when it says nothing. */
    public static String formatOf(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".onnx")) {
            return "onnx";
        }
        if (lower.endsWith(".tflite")) {
            return "tflite";
        }
        return null;
    }
}
