package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The request message for one image: version 1 of the record. The image's object key is derived
 * ({@link Keys#input}); {@code sentAt} (epoch millis) lets the worker measure queueing latency.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ImageRequest(int v, String job, String name, long sentAt) {
    public static final int VERSION = 1;

    public static ImageRequest of(String job, String name, long sentAt) {
        return new ImageRequest(VERSION, job, name, sentAt);
    }
}
