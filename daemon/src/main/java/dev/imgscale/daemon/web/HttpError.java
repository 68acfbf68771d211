package dev.imgscale.daemon.web;

/**
 * A request the server refuses, with the status to answer and one sentence saying what was wrong
 * and how to do it right. Thrown before anything is stored, so a refused request leaves nothing.
 */
final class HttpError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;

    HttpError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    int status() {
        return status;
    }
}
