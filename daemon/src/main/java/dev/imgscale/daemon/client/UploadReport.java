package dev.imgscale.daemon.client;

import java.util.List;

/** What an upload did: the job, the images now queued, and those that could not be stored (with why). */
public record UploadReport(String job, List<String> queued, List<Failure> failures, long bytes, long millis) {
    public record Failure(String file, String reason) {
    }

    public UploadReport {
        queued = List.copyOf(queued);
        failures = List.copyOf(failures);
    }
}
