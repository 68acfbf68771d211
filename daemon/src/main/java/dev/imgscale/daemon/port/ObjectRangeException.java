package dev.imgscale.daemon.port;

import dev.imgscale.classifier.ImgscaleException;

/** A ranged read asked for bytes past the end of the object (a reference that does not match it). */
public final class ObjectRangeException extends ImgscaleException {
    private static final long serialVersionUID = 1L;

    public ObjectRangeException(String message) {
        super(message);
    }
}
