package dev.imgscale.classifier.catalog;

import java.util.List;

/**
 * How an image becomes the model's input tensor: decode to BGR, resize so the shorter side is
 * {@code resizeShorter} (0 = resize straight to width x height), centre-crop width x height, convert
 * to {@code channels} order, then per channel {@code (pixel * scale - mean) / std}, laid out NCHW.
 */
public record InputSpec(int width, int height, int resizeShorter, String interpolation, String crop,
                        double scale, List<Double> mean, List<Double> std, String channels, String layout) {
    public InputSpec {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("input size must be positive: " + width + "x" + height);
        }
        if (mean == null || mean.size() != 3 || std == null || std.size() != 3) {
            throw new IllegalArgumentException("mean and std need three values (one per channel)");
        }
        for (double s : std) {
            if (s == 0) {
                throw new IllegalArgumentException("std values must not be zero");
            }
        }
        if (!"RGB".equals(channels) && !"BGR".equals(channels)) {
            throw new IllegalArgumentException("channels must be RGB or BGR, not " + channels);
        }
        if (layout != null && !"NCHW".equals(layout)) {
            throw new IllegalArgumentException("only the NCHW layout is supported, not " + layout);
        }
        layout = "NCHW";
        interpolation = interpolation == null ? "area" : interpolation;
        crop = crop == null ? "center" : crop;
    }

    /** Number of floats one image takes in the input tensor. */
    public int tensorLength() {
        return 3 * width * height;
    }
}
