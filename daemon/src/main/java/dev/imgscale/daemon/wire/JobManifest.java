package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * A job record at {@code jobs/<job>/manifest.json}; a worker drops a request whose job has none
 * (the job was reset), so it is written before any request is sent.
 * <ul>
 *   <li>Version 1 names every image ({@code images}): the whole job in one object, fine for
 *       thousands of images, not for millions. Still read; no longer written by {@code upload}.</li>
 *   <li>Version 2 carries counts, not names, so no process holds a job's names at once: written
 *       <em>open</em> ({@code total} absent) before the first request, and rewritten
 *       <em>sealed</em> with {@code total} once every request is sent. Its names, if a reader needs
 *       them, are in {@code namePages} objects of JSON Lines ({@link Keys#namePage}).</li>
 * </ul>
 * A job is complete when it is sealed and {@code total} distinct names have a result.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobManifest(int v, String job, long createdAt, String source, List<String> images, Integer total,
                          Integer namePages) {
    public static final int VERSION = 2;

    public JobManifest {
        images = images == null ? null : List.copyOf(images);
    }

    /** This manifest, if this release can read it; otherwise one sentence saying what to do. */
    public JobManifest requireReadable() {
        if (v > VERSION) {
            throw new Json.MalformedRecordException("Job " + job + " was written by a newer imgscale (job record version "
                    + v + "); upgrade this imgscale to read it.");
        }
        return this;
    }

    /** A version-1 manifest naming every image (what the previous release wrote; tests use it too). */
    public static JobManifest v1(String job, long createdAt, String source, List<String> images) {
        return new JobManifest(1, job, createdAt, source, images, null, null);
    }

    /** A version-2 manifest still being uploaded: requests are being sent, the total is not known yet. */
    public static JobManifest open(String job, long createdAt, String source) {
        return new JobManifest(VERSION, job, createdAt, source, null, null, null);
    }

    /** This job with every request sent: {@code total} images whose names are in {@code namePages} pages. */
    public JobManifest seal(int total, int namePages) {
        return new JobManifest(VERSION, job, createdAt, source, null, total, namePages);
    }

    /** False while {@code upload} is still sending this job's requests. */
    @JsonIgnore
    public boolean sealed() {
        return images != null || total != null;
    }

    /** The images in the job; while it is open, how many were sent so far is unknown here: -1. */
    @JsonIgnore
    public int count() {
        if (images != null) {
            return images.size();
        }
        return total == null ? -1 : total;
    }
}
