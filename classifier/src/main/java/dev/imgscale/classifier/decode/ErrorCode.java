package dev.imgscale.classifier.decode;

/**
 * Why an image was rejected. The constant names are a stable public contract: they appear in CSV
 * output and in result records, so never rename or remove one (adding one is a format change).
 */
public enum ErrorCode {
    /** The file has no bytes at all. */
    EMPTY("the file is empty (0 bytes)"),
    /** The file is larger than the configured byte limit; it was not read into memory. */
    TOO_LARGE("the file is larger than the byte limit"),
    /** The header declares more pixels than the configured limit (a decompression bomb, or just too big). */
    TOO_MANY_PIXELS("the image declares more pixels than the pixel limit"),
    /** Not an image format this decoder accepts (text, HTML, GIF, unknown bytes...). */
    UNSUPPORTED("not an image in a supported format"),
    /** A supported format, but the header or the data is malformed or truncated. */
    CORRUPT("the image is malformed or truncated"),
    /** The file could not be read (missing, not a regular file, permission denied, I/O error). */
    UNREADABLE("the file could not be read");

    private final String description;

    ErrorCode(String description) {
        this.description = description;
    }

    /** One lower-case phrase that says what the code means, for help texts and summaries. */
    public String description() {
        return description;
    }
}
