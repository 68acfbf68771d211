package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.local.LocalStackExtension;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The S3 adapter against the embedded S3Proxy, through the SDK client {@link AwsClients} builds. */
class S3ObjectStoreIT {
    @TempDir
    static Path dataDir;

    @RegisterExtension
    static final LocalStackExtension local = new LocalStackExtension(() -> dataDir);
    static final AtomicInteger BUCKETS = new AtomicInteger();

    /** A fresh bucket per test, so tests do not see each other's keys. */
    static S3ObjectStore newBucket() {
        String name = "bucket-" + BUCKETS.incrementAndGet();
        local.aws().s3().createBucket(b -> b.bucket(name));
        return new S3ObjectStore(local.aws().s3(), name);
    }

    @Test
    void should_return_what_was_put_and_report_it_exists() {
        S3ObjectStore store = newBucket();
        byte[] data = "hello, bucket".getBytes(StandardCharsets.UTF_8);
        store.put("input/job/ä b.jpg", data, "image/jpeg");
        assertArrayEquals(data, store.get("input/job/ä b.jpg").orElseThrow());
        assertTrue(store.exists("input/job/ä b.jpg"));
    }

    @Test
    void should_refuse_to_read_an_object_over_the_limit_without_reading_it() {
        S3ObjectStore store = newBucket();
        store.put("big.jpg", new byte[5000], "image/jpeg");
        ObjectTooLargeException e = assertThrows(ObjectTooLargeException.class, () -> store.get("big.jpg", 4999));
        assertEquals(5000, e.size());
        assertEquals(5000, store.get("big.jpg", 5000).orElseThrow().length);
        assertEquals(Optional.empty(), store.get("missing.jpg", 10));
    }

    @Test
    void should_put_a_file(@TempDir Path dir) throws Exception {
        S3ObjectStore store = newBucket();
        Path file = Files.write(dir.resolve("f.bin"), new byte[] {1, 2, 3});
        store.put("a/f.bin", file, "application/octet-stream");
        assertArrayEquals(new byte[] {1, 2, 3}, store.get("a/f.bin").orElseThrow());
    }

    @Test
    void should_return_empty_for_a_missing_key_and_say_it_does_not_exist() {
        S3ObjectStore store = newBucket();
        assertEquals(Optional.empty(), store.get("no/such/key"));
        assertFalse(store.exists("no/such/key"));
    }

    @Test
    void should_list_keys_under_a_prefix_in_order_without_directory_markers() {
        S3ObjectStore store = newBucket();
        for (String key : List.of("results/j1/b.jpg.json", "results/j1/a.jpg.json", "results/j1/sub/c.jpg.json",
                "results/j2/a.jpg.json", "jobs/j1/manifest.json")) {
            store.put(key, new byte[] {1}, "application/json");
        }
        assertEquals(List.of("results/j1/a.jpg.json", "results/j1/b.jpg.json", "results/j1/sub/c.jpg.json"),
                store.list("results/j1/"));
        assertEquals(List.of("jobs/j1/manifest.json", "results/j1/a.jpg.json", "results/j1/b.jpg.json",
                "results/j1/sub/c.jpg.json", "results/j2/a.jpg.json"), store.list(""));
    }

    @Test
    void should_list_and_delete_more_keys_than_one_page_holds() throws Exception {
        S3ObjectStore store = newBucket();
        int n = S3ObjectStore.DELETE_BATCH + 100;
        List<String> keys = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> puts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String key = String.format("many/k%05d", i);
                keys.add(key);
                puts.add(pool.submit(() -> store.put(key, new byte[] {7}, "application/octet-stream")));
            }
            for (Future<?> f : puts) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(keys, store.list("many/"), "a listing that pages past 1000 keys");
        List<String> toDelete = new ArrayList<>(keys);
        toDelete.add("many/never-written");
        store.delete(toDelete);
        assertEquals(List.of(), store.list("many/"));
    }

    @Test
    void should_ignore_missing_keys_when_deleting() {
        S3ObjectStore store = newBucket();
        store.put("keep", new byte[] {1}, "application/octet-stream");
        store.delete(List.of("gone-1", "gone-2"));
        store.delete(List.of());
        assertEquals(List.of("keep"), store.list(""));
    }

    @Test
    void should_say_in_one_sentence_how_to_create_a_missing_bucket() {
        S3ObjectStore store = new S3ObjectStore(local.aws().s3(), "no-such-bucket");
        Map<String, Runnable> calls = new LinkedHashMap<>();
        calls.put("get", () -> store.get("k"));
        calls.put("exists", () -> store.exists("k"));
        calls.put("list", () -> store.list(""));
        calls.put("put", () -> store.put("k", new byte[] {1}, "application/octet-stream"));
        calls.put("delete", () -> store.delete(List.of("k")));
        calls.forEach((name, call) -> {
            ImgscaleException e = assertThrows(ImgscaleException.class, call::run, name);
            assertEquals("The bucket no-such-bucket does not exist; run `imgscale init` (or `imgscale local up`) first.",
                    e.getMessage(), name);
        });
    }

    @Test
    void should_refuse_a_key_that_looks_like_a_folder() {
        S3ObjectStore store = newBucket();
        assertThrows(IllegalArgumentException.class, () -> store.put("input/job/", new byte[] {1}, "text/plain"));
    }
}
