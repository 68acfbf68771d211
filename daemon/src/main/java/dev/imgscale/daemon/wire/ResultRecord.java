package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One image's result, version 1: written as {@code results/<job>/<name>.json} and sent as the
 * result event. Either {@code label}/{@code score}/{@code top} or {@code error}/{@code message}.
 *
 * @param worker     which worker wrote it (host and pid)
 * @param receives   how many times the request had been received when this was written
 * @param finishedAt epoch millis
 * @param latencyMs  from the request being sent to this result being written
 * @param source     the image as the user gave it (an {@code s3://} URL for an image in place);
 *                   absent in results of uploaded images and of earlier versions
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ResultRecord(int v, String job, String name, String label, Float score, List<Label> top,
                           String error, String message, String model, String worker, int receives,
                           long finishedAt, Long latencyMs, String source) {
    public static final int VERSION = 1;

    /** A result with no source (an uploaded image). */
    public ResultRecord(int v, String job, String name, String label, Float score, List<Label> top, String error, String message,
                        String model, String worker, int receives, long finishedAt, Long latencyMs) {
        this(v, job, name, label, score, top, error, message, model, worker, receives, finishedAt, latencyMs, null);
    }

    /** One of the top labels. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Label(String label, float score, int index) {
    }

    public boolean ok() {
        return error == null;
    }
}
