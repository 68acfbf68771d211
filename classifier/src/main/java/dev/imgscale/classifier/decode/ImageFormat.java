package dev.imgscale.classifier.decode;

/** An image container format recognised by its magic bytes (never by the file name). */
public enum ImageFormat {
    JPEG,
    PNG,
    BMP,
    GIF,
    WEBP,
    TIFF,
    /** Netpbm: PBM, PGM, PPM (P1 to P6) and PAM (P7). */
    PNM,
    UNKNOWN
}
