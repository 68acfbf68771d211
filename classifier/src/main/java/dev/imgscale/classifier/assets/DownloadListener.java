package dev.imgscale.classifier.assets;

/** Hears how a download goes, for a progress bar. Called from the downloading thread. */
public interface DownloadListener {
    DownloadListener NONE = new DownloadListener() { };

    /** A download starts; {@code totalBytes} is -1 when unknown. */
    default void started(String file, String url, long totalBytes) {
    }

    default void progressed(String file, long bytesSoFar, long totalBytes) {
    }

    default void finished(String file) {
    }
}
