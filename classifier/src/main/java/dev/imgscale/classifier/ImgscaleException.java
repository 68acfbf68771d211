package dev.imgscale.classifier;

/**
 * A failure the user can understand and usually fix: its message is one sentence that says what
 * went wrong and, where there is one, how to fix it. The command line prints the message without a
 * stack trace; anything else that escapes is a bug and is reported as one.
 */
public class ImgscaleException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ImgscaleException(String message) {
        super(message);
    }

    public ImgscaleException(String message, Throwable cause) {
        super(message, cause);
    }
}
