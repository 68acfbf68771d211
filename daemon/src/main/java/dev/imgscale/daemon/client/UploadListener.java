package dev.imgscale.daemon.client;

/** Hears an upload's progress, for a progress bar. Called from uploading threads. */
public interface UploadListener {
    UploadListener NONE = new UploadListener() { };

    default void started(int files, long bytes) {
    }

    default void uploaded(UploadItem item) {
    }

    default void failed(UploadItem item, String reason) {
    }

    /** The images are stored and the requests are being sent. */
    default void enqueueing(int requests) {
    }
}
