package dev.imgscale.classifier.decode;

import java.util.Objects;

/**
 * What an image's header declares, read without decoding: its format and its stored width and
 * height in pixels (before any EXIF rotation, which swaps them but does not change their product).
 */
public record ImageHeader(ImageFormat format, int width, int height) {

    public ImageHeader {
        Objects.requireNonNull(format, "format");
        if (width < 0 || height < 0) {
            throw new IllegalArgumentException("negative size " + width + "x" + height);
        }
    }

    /** width x height, as a long so it cannot overflow. */
    public long pixels() {
        return (long) width * height;
    }
}
