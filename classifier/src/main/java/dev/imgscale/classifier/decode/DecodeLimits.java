package dev.imgscale.classifier.decode;

/**
 * Ceilings that {@link SafeDecoder} enforces before it lets OpenCV allocate anything.
 *
 * @param maxBytes  largest accepted file, in bytes
 * @param maxPixels largest accepted declared width x height
 */
public record DecodeLimits(long maxBytes, long maxPixels) {

    /** 20 MiB and 50 megapixels: a 50 MP BGR image is 150 MB of native memory once decoded. */
    public static final DecodeLimits DEFAULT = new DecodeLimits(20L * 1024 * 1024, 50_000_000L);

    public DecodeLimits {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
        }
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
        }
    }
}
