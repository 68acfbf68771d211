package dev.imgscale.classifier;

import dev.imgscale.classifier.decode.ErrorCode;
import java.util.List;

/**
 * What became of one image: its top labels, or the reason it was rejected.
 *
 * @param name  the image's name as the caller gave it (a file name, an object key)
 * @param top   the top-k predictions, best first; empty when {@code error} is set
 * @param error null on success
 */
public record ImageResult(String name, List<Prediction> top, ErrorCode error, String message) {
    public ImageResult {
        top = List.copyOf(top);
    }

    public static ImageResult labelled(String name, List<Prediction> top) {
        return new ImageResult(name, top, null, null);
    }

    public static ImageResult failed(String name, ErrorCode error, String message) {
        return new ImageResult(name, List.of(), error, message);
    }

    public boolean ok() {
        return error == null;
    }

    /** The best label, or null for a failed image. */
    public Prediction best() {
        return top.isEmpty() ? null : top.get(0);
    }
}
