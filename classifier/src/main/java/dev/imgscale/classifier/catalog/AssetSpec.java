package dev.imgscale.classifier.catalog;

import java.util.Locale;
import java.util.Objects;

/**
 * A data file the product needs (a model, a label list, a sample image), named by file name and
 * pinned by size and SHA-256, with the public URL it can be downloaded from.
 *
 * @param file   file name looked up in the asset folders and the cache
 * @param url    HTTPS download URL, or null when the file must be provided by the user
 * @param size   size in bytes, or -1 when unknown
 * @param sha256 lower-case hex SHA-256, or null for a user's own file (then it is used as it is)
 */
public record AssetSpec(String file, String url, long size, String sha256) {
    public AssetSpec {
        Objects.requireNonNull(file, "file");
        if (file.contains("/") || file.contains("\\") || file.equals("..")) {
            throw new IllegalArgumentException("asset file name must be a plain name: " + file);
        }
        sha256 = sha256 == null ? null : sha256.toLowerCase(Locale.ROOT);
    }

    /** Whether the file can be checked against a pinned digest. */
    public boolean pinned() {
        return sha256 != null;
    }
}
