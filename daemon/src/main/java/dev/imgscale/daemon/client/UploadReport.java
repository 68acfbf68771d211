package dev.imgscale.daemon.client;

import java.util.List;

/**
 * What an upload did: the job, how many images are now queued, and those that could not be stored
 * (with why). A count, not the names: a job's names are in its record's pages, never all in memory.
 */
public record UploadReport(String job, int queued, List<Failure> failures, long bytes, long millis) {
    public record Failure(String file, String reason) {
    }

    public UploadReport {
        failures = List.copyOf(failures);
    }
}
