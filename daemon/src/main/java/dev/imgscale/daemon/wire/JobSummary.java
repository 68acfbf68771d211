package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * A finished job's exact counts at {@code jobs/<job>/summary.json}, written by a reader that has
 * read every row ({@code results}, {@code --follow}, {@code upload --wait}) when a redelivery left
 * some names with two rows, so that the counts in the result keys overstate. {@code status} uses
 * it while the job still has {@code objects} result objects; another object since makes it stale.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record JobSummary(int v, String job, int total, int done, int failed, int objects) {
    public static final int VERSION = 1;
}
