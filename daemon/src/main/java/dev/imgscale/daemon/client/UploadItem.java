package dev.imgscale.daemon.client;

import java.nio.file.Path;
import java.util.Objects;

/**
 * An image to upload and the name it gets within its job: either a file ({@code file}) or bytes
 * already in memory ({@code bytes}, as the web tier receives small uploads), never both.
 */
public record UploadItem(Path file, String name, long size, byte[] bytes) {
    public UploadItem {
        Objects.requireNonNull(name, "name");
        if ((file == null) == (bytes == null)) {
            throw new IllegalArgumentException("an upload item is either a file or bytes: " + name);
        }
    }

    /** A file on disk. */
    public UploadItem(Path file, String name, long size) {
        this(file, name, size, null);
    }

    /** Bytes in memory. */
    public static UploadItem ofBytes(String name, byte[] bytes) {
        return new UploadItem(null, name, bytes.length, bytes);
    }

    /** Where the image comes from, for messages: the file, or the name for bytes in memory. */
    public String source() {
        return file != null ? file.toString() : name;
    }
}
