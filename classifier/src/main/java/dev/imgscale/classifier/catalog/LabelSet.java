package dev.imgscale.classifier.catalog;

/** A label list file: its asset, its format ({@code json-array} or {@code lines}) and how many labels it holds. */
public record LabelSet(String name, AssetSpec asset, String format, int count) {
}
