package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * A finished job's exact counts at {@code jobs/<job>/summary.json}, stored by the first reader that
 * sees the job finished: {@code status} from a listing with no redelivered row, or a reader that
 * has read every row ({@code results}, {@code --follow}, {@code upload --wait}). A finished job's
 * counts are final, so from then on {@code status} reads this instead of listing the job's results.
 * {@code objects}: how many result objects the job had then (for people reading it).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record JobSummary(int v, String job, int total, int done, int failed, int objects) {
    public static final int VERSION = 1;
}
