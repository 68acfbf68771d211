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

    /**
     * The images are stored and their requests are being sent (an upload in shards sends each
     * shard's as it is stored, so this comes once they are all sent, before the job is sealed).
     */
    default void enqueueing(int requests) {
    }
}
