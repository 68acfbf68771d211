package dev.imgscale.classifier.decode;

import java.util.Objects;

/**
 * One image cannot be used: it carries a stable {@link ErrorCode} for machines and a one-sentence
 * message for people (for example "image declares 25000x25000 pixels (625.0 MP), over the 50.0 MP
 * limit"). Checked on purpose: a batch must handle it per image and carry on with the next one.
 */
public final class ImageRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public ImageRejectedException(ErrorCode code, String message) {
        super(Objects.requireNonNull(message, "message"));
        this.code = Objects.requireNonNull(code, "code");
    }

    public ImageRejectedException(ErrorCode code, String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** Why the image was rejected; stable across versions. */
    public ErrorCode code() {
        return code;
    }

    @Override
    public String toString() {
        return "ImageRejectedException[" + code + "]: " + getMessage();
    }
}
