package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.shard.ShardWriter;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Putting work into a stack: a whole upload in shards ({@link ShardUpload}), or its steps one at a
 * time as the web tier adds images to a job over time (each image its own object, a version-1
 * manifest naming them, version-1 requests). The order that keeps a job consistent: the manifest
 * exists before any request is sent, because a worker drops a request whose job has no manifest.
 */
@ThreadSafe
final class JobUploads {
    private final StackContext stack;
    private final Clock clock;

    JobUploads(StackContext stack, Clock clock) {
        this.stack = stack;
        this.clock = clock;
    }

    /** See {@link JobClient#upload}. */
    UploadReport upload(Iterable<UploadItem> items, int concurrency, UploadListener listener) {
        return new ShardUpload(stack, clock, ShardWriter.DEFAULT_MAX_MEMBERS, ShardWriter.DEFAULT_MAX_BYTES)
                .upload(items, concurrency, listener);
    }

    String newJob() {
        return JobId.next(clock.instant());
    }

    void store(String job, UploadItem item) {
        Jobs.check(job);
        String error = Jobs.retry("upload " + item.source(), () -> put(stack.input(), job, item));
        if (error != null) {
            throw new ImgscaleException("Could not store " + item.name() + " in bucket " + stack.input().name() + ": " + error);
        }
    }

    void writeManifest(String job, long createdAt, List<String> images) {
        Jobs.check(job);
        String error = putManifest(job, createdAt, images);
        if (error != null) {
            throw new ImgscaleException("Could not write the manifest of job " + job + ": " + error);
        }
    }

    void enqueue(String job, List<String> images) {
        Jobs.check(job);
        List<String> bodies = new ArrayList<>(images.size());
        long now = clock.millis();
        for (String name : images) {
            bodies.add(Json.write(ImageRequest.of(job, name, now)));
        }
        stack.requests().send(bodies);
    }

    void discard(String job, List<String> images) {
        Jobs.check(job);
        List<String> keys = new ArrayList<>(images.size());
        for (String name : images) {
            keys.add(Keys.input(job, name));
        }
        Jobs.deleteAll(stack.input(), keys);
    }

    /** Writes the manifest with retries; null on success, else why not. */
    private String putManifest(String job, long createdAt, List<String> images) {
        JobManifest manifest = JobManifest.v1(job, createdAt, source(), images);
        return Jobs.retry("write the job manifest", () -> stack.output().put(Keys.manifest(job), Json.bytes(manifest), "application/json"));
    }

    private static void put(ObjectStore store, String job, UploadItem item) {
        String key = Keys.input(job, item.name());
        String contentType = contentType(item.name());
        if (item.bytes() != null) {
            store.put(key, item.bytes(), contentType);
        } else {
            store.put(key, item.file(), contentType);
        }
    }

    static String contentType(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".jpg") || lower.endsWith(".jpeg") || lower.endsWith(".jpe")) {
            return "image/jpeg";
        }
        if (lower.endsWith(".png")) {
            return "image/png";
        }
        if (lower.endsWith(".bmp") || lower.endsWith(".dib")) {
            return "image/bmp";
        }
        if (lower.endsWith(".webp")) {
            return "image/webp";
        }
        if (lower.endsWith(".tif") || lower.endsWith(".tiff")) {
            return "image/tiff";
        }
        return "application/octet-stream";
    }

    static String source() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return System.getProperty("user.name", "user") + "@" + host;
    }
}
