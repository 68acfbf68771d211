package dev.imgscale.classifier.assets;

import dev.imgscale.classifier.ImgscaleException;

/** An asset could not be found in the asset folders or the cache, and could not be downloaded. */
public final class AssetUnavailableException extends ImgscaleException {
    private static final long serialVersionUID = 1L;

    public AssetUnavailableException(String message) {
        super(message);
    }

    public AssetUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
