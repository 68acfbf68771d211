package dev.imgscale.classifier.catalog;

/**
 * How to read a model's output as probabilities over the label list.
 *
 * @param kind           {@code logits} (softmax is applied), {@code probabilities} (used as they are) or
 *                       {@code int8-softmax} (an int8 softmax layer: p = (q - quantZeroPoint) * quantScale)
 * @param layer          the layer to read, or null for the network's default output
 * @param classes        number of output classes
 * @param labelOffset    output index k is label k - labelOffset (1 when class 0 is "background")
 */
public record OutputSpec(String kind, String layer, double quantScale, int quantZeroPoint, int classes, int labelOffset) {
    public OutputSpec {
        if (!"logits".equals(kind) && !"probabilities".equals(kind) && !"int8-softmax".equals(kind)) {
            throw new IllegalArgumentException("output kind must be logits, probabilities or int8-softmax, not " + kind);
        }
        if (classes <= 0 || labelOffset < 0 || labelOffset >= classes) {
            throw new IllegalArgumentException("bad output classes/labelOffset: " + classes + "/" + labelOffset);
        }
    }
}
