package dev.imgscale.classifier.catalog;

/** A named way of feeding a family of models and reading their output ({@code --preset}).
 *
 * @param maxBatch the most images one forward pass may hold (0 = no limit)
 */
public record Preset(String name, String description, InputSpec input, OutputSpec output, String labels, int maxBatch) {
}
