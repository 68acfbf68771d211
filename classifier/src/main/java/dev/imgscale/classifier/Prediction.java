package dev.imgscale.classifier;

/** One label of an image's top-k: the ImageNet class index, its label and its probability. */
public record Prediction(int classIndex, String label, float probability) {
}
