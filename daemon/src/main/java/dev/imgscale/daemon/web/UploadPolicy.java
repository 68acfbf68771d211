package dev.imgscale.daemon.web;

import dev.imgscale.classifier.ImgscaleException;
import java.time.Duration;
import java.util.Objects;

/**
 * How long the server waits for upload bodies, and how many it reads at once per client.
 *
 * @param idleTimeout       a body that sends no byte for this long is answered 408; it is also the
 *                          grace before the rate counts, and the longest an upload waits for a slot
 *                          (then 429)
 * @param minBytesPerSecond after the grace, a body that has come slower than this on average is
 *                          answered 408 (0: no rate floor)
 * @param perClient         bodies read at once per client address; more wait, holding no thread
 */
public record UploadPolicy(Duration idleTimeout, long minBytesPerSecond, int perClient) {
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** 1 KiB/s: a phone on a poor link sends far more; a client trickling bytes to hold a slot sends far less. */
    public static final long DEFAULT_MIN_BYTES_PER_SECOND = 1024;
    public static final int DEFAULT_PER_CLIENT = 8;

    public UploadPolicy {
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        if (idleTimeout.toMillis() < 1 || minBytesPerSecond < 0 || perClient < 1) {
            throw new ImgscaleException("The upload idle timeout and the uploads per client must be positive, the minimum rate"
                    + " zero or more.");
        }
    }

    public static UploadPolicy defaults() {
        return new UploadPolicy(DEFAULT_IDLE_TIMEOUT, DEFAULT_MIN_BYTES_PER_SECOND, DEFAULT_PER_CLIENT);
    }

    /**
     * Why a body being read is too slow to go on with, or null while it is fine.
     *
     * @param startedAt  when its reading started (epoch millis)
     * @param lastByteAt when its last byte came (its start if none has)
     * @param bytes      bytes of it received so far
     */
    String tooSlow(long startedAt, long lastByteAt, long bytes, long now) {
        long idle = now - lastByteAt;
        if (idle >= idleTimeout.toMillis()) {
            return "No byte of the upload came for " + idle / 1000 + " s (--upload-idle-timeout " + idleTimeout.toSeconds()
                    + " s); nothing of it was stored.";
        }
        long elapsed = now - startedAt;
        if (minBytesPerSecond > 0 && elapsed >= idleTimeout.toMillis() && bytes * 1000 < minBytesPerSecond * elapsed) {
            return "The upload came at " + bytes * 1000 / Math.max(1, elapsed) + " bytes/s, under the minimum of " + minBytesPerSecond
                    + " bytes/s (--min-upload-rate); nothing of it was stored.";
        }
        return null;
    }
}
