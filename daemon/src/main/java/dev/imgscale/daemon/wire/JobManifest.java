package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * A job, version 1: which images it holds (their names within the job). The job is complete when
 * every image has a result object. Written once the images are stored, before any request is sent.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record JobManifest(int v, String job, long createdAt, String source, List<String> images) {
    public static final int VERSION = 1;

    public JobManifest {
        images = List.copyOf(images);
    }

    public int total() {
        return images.size();
    }
}
