package dev.imgscale.daemon.client;

/**
 * How far a job is: results for {@code done} of its {@code total} images, {@code failed} of them
 * errors. The one progress type of every reader: {@code status}, following a job to its end, and
 * the web tier's progress events.
 *
 * @param total -1 while the job is still being uploaded (its manifest is open: the count is not known yet)
 * @param exact false when the counts come from result keys that may count a redelivered image twice
 *              (then {@code done} and {@code failed} are at most that many too high; see {@code ResultListing})
 */
public record JobProgress(String job, int total, int done, int failed, boolean exact) {
    /** Exact counts. */
    public JobProgress(String job, int total, int done, int failed) {
        this(job, total, done, failed, true);
    }

    /** Still being uploaded: the number of images is not known yet. */
    public boolean open() {
        return total < 0;
    }

    /** Every image has a result, counted exactly; a job with no images (yet) is not complete. */
    public boolean complete() {
        return exact && total > 0 && done >= total;
    }
}
