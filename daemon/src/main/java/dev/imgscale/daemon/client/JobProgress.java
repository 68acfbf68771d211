package dev.imgscale.daemon.client;

/**
 * How far a job is: results for {@code done} of its {@code total} images, {@code failed} of them
 * errors. The one progress type of every reader: {@code status}, following a job to its end, and
 * the web tier's progress events.
 */
public record JobProgress(String job, int total, int done, int failed) {
    /** Every image has a result; a job with no images (yet) is not complete. */
    public boolean complete() {
        return total > 0 && done >= total;
    }
}
