package dev.imgscale.daemon.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The twin keeps the contract S3ObjectStoreTest checks on S3ObjectStore. */
class InMemoryObjectStoreTest {
    final InMemoryObjectStore store = new InMemoryObjectStore("bucket");

    @Test
    void should_return_a_copy_of_what_was_put_and_report_it_exists() {
        byte[] data = {1, 2, 3};
        store.put("input/job/ä b.jpg", data, "image/jpeg");
        data[0] = 9;
        assertArrayEquals(new byte[] {1, 2, 3}, store.get("input/job/ä b.jpg").orElseThrow());
        store.get("input/job/ä b.jpg").orElseThrow()[1] = 9;
        assertArrayEquals(new byte[] {1, 2, 3}, store.get("input/job/ä b.jpg", 3).orElseThrow());
        assertTrue(store.exists("input/job/ä b.jpg"));
        assertEquals(Optional.empty(), store.get("no/such/key"));
        assertFalse(store.exists("no/such/key"));
    }

    @Test
    void should_refuse_to_read_an_object_over_the_limit() {
        store.put("big.jpg", new byte[5000], "image/jpeg");
        ObjectTooLargeException e = assertThrows(ObjectTooLargeException.class, () -> store.get("big.jpg", 4999));
        assertEquals(5000, e.size());
        assertEquals(4999, e.limit());
        assertEquals(5000, store.get("big.jpg", 5000).orElseThrow().length);
        assertEquals(Optional.empty(), store.get("missing.jpg", 10));
    }

    @Test
    void should_put_a_file(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("f.bin");
        Files.write(f, new byte[] {1, 2, 3});
        store.put("a/f.bin", f, "application/octet-stream");
        assertArrayEquals(new byte[] {1, 2, 3}, store.get("a/f.bin").orElseThrow());
    }

    @Test
    void should_list_keys_under_a_prefix_in_order_and_ignore_missing_keys_when_deleting() {
        for (String k : List.of("results/j1/b.jpg.json", "results/j1/a.jpg.json", "jobs/j1/manifest.json", "results/j1/sub/c.jpg.json",
                "results/j10/x.json")) {
            store.put(k, new byte[] {1}, "application/json");
        }
        assertEquals(List.of("results/j1/a.jpg.json", "results/j1/b.jpg.json", "results/j1/sub/c.jpg.json"), store.list("results/j1/"));
        assertEquals(5, store.list("").size());
        store.delete(List.of("results/j1/a.jpg.json", "never/there"));
        assertEquals(List.of("results/j1/b.jpg.json", "results/j1/sub/c.jpg.json"), store.list("results/j1/"));
    }

    @Test
    void should_refuse_a_key_that_looks_like_a_folder() {
        assertThrows(IllegalArgumentException.class, () -> store.put("input/job/", new byte[] {1}, "text/plain"));
    }

    @Test
    void should_say_in_one_sentence_how_to_create_a_missing_bucket() {
        InMemoryObjectStore gone = new InMemoryObjectStore("no-such-bucket");
        gone.removeBucket();
        for (Runnable call : List.<Runnable>of(() -> gone.get("k"), () -> gone.get("k", 1), () -> gone.exists("k"), () -> gone.list(""),
                () -> gone.put("k", new byte[1], "x"), () -> gone.delete(List.of("k")))) {
            ImgscaleException e = assertThrows(ImgscaleException.class, call::run);
            assertEquals("The bucket no-such-bucket does not exist; run `imgscale init` (or `imgscale local up`) first.", e.getMessage());
        }
    }

    @Test
    void should_fail_an_operation_while_a_fault_is_injected() {
        store.put("a", new byte[] {1}, "x");
        store.inject(InMemoryObjectStore.Op.GET, key -> key.equals("a") ? new IllegalStateException("down") : null);
        assertThrows(IllegalStateException.class, () -> store.get("a", 10));
        assertEquals(Optional.empty(), store.get("b", 10));
        store.inject(InMemoryObjectStore.Op.GET, null);
        assertEquals(1, store.get("a", 10).orElseThrow().length);
        assertEquals(3, store.calls(InMemoryObjectStore.Op.GET));
    }
}
