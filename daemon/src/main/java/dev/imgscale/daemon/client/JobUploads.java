package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Putting work into a stack: a whole upload, or its steps one at a time. The order that keeps a job
 * consistent: store the images, write a manifest that names them, and only then send their
 * requests, because a worker drops a request whose job has no manifest.
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
    UploadReport upload(List<UploadItem> items, int concurrency, UploadListener listener) {
        if (items.isEmpty()) {
            throw new ImgscaleException("Nothing to upload: no image files were given.");
        }
        long start = clock.millis();
        String job = JobId.next(clock.instant());
        ObjectStore input = stack.input();
        stack.requests(); // opens the queue: fails early, before any upload, if the stack is missing
        long totalBytes = items.stream().mapToLong(UploadItem::size).sum();
        listener.started(items.size(), totalBytes);
        List<String> stored = Collections.synchronizedList(new ArrayList<>());
        List<UploadReport.Failure> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicLong bytes = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, concurrency), DaemonThreads.named("imgscale-upload"));
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (UploadItem item : items) {
                futures.add(pool.submit(() -> {
                    String error = Jobs.retry("upload " + item.source(), () -> put(input, job, item));
                    if (error == null) {
                        stored.add(item.name());
                        bytes.addAndGet(item.size());
                        listener.uploaded(item);
                    } else {
                        failures.add(new UploadReport.Failure(item.source(), error));
                        listener.failed(item, error);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImgscaleException("Upload interrupted; job " + job + " is incomplete and no request was sent.", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("upload task failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
        List<String> names = new ArrayList<>(stored);
        Collections.sort(names);
        if (names.isEmpty()) {
            return new UploadReport(job, names, failures, 0, clock.millis() - start);
        }
        String manifestError = putManifest(job, clock.millis(), names);
        if (manifestError != null) {
            throw new ImgscaleException("The images of job " + job + " are stored but its manifest could not be written ("
                    + manifestError + "); no request was sent, so nothing will be processed. Try the upload again.");
        }
        listener.enqueueing(names.size());
        enqueue(job, names);
        return new UploadReport(job, names, failures, bytes.get(), clock.millis() - start);
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

    private static String source() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return System.getProperty("user.name", "user") + "@" + host;
    }
}
