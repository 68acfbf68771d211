package dev.imgscale.daemon.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.Keys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keys S3 takes and a file system does not: long path segments, on the real protocol. */
class LongKeyBlobStoreIT {
    @TempDir
    Path dataDir;

    @Test
    void should_leave_short_keys_as_they_are_and_round_trip_long_ones() {
        assertEquals("input/job/cat.jpg", LongKeyBlobStore.encode("input/job/cat.jpg"));
        String[] keys = {"x/" + "é".repeat(300) + ".jpg", "a".repeat(1000), "m" + LongKeyBlobStore.MARK + "x", "t/" + "😀".repeat(120) + "/",
            "p/" + "q".repeat(200), "p/" + "q".repeat(201), LongKeyBlobStore.MARK + "".repeat(0) + "z".repeat(400) + LongKeyBlobStore.MARK};
        for (String key : keys) {
            String stored = LongKeyBlobStore.encode(key);
            assertEquals(key, LongKeyBlobStore.decode(stored), stored);
            for (String segment : stored.split("/")) {
                assertTrue(segment.getBytes(StandardCharsets.UTF_8).length <= LongKeyBlobStore.CHUNK + 3, segment);
            }
        }
    }

    @Test
    void should_keep_the_stored_form_of_a_prefix_a_prefix_of_the_key() {
        Random random = new Random(7);
        String key = "input/job/" + "ü".repeat(250) + "x".repeat(300) + ".jpg";
        for (int i = 0; i < 300; i++) {
            int cut = random.nextInt(key.length() + 1);
            String prefix = key.substring(0, cut);
            assertTrue(LongKeyBlobStore.encode(key).startsWith(LongKeyBlobStore.encode(prefix)), "prefix of " + cut + " characters");
        }
    }

    @Test
    void should_store_list_read_and_delete_a_300_byte_name_and_keep_it_across_a_restart() {
        String name = "ä".repeat(148) + ".jpg"; // 300 UTF-8 bytes, one path segment
        assertEquals(300, name.getBytes(StandardCharsets.UTF_8).length);
        assertEquals(name, ImageNames.sanitise(name), "a 300-byte name is a valid image name");
        String job = "20261205-120000-abcdef";
        String key = Keys.input(job, name);
        byte[] data = new byte[5000];
        new Random(1).nextBytes(data);
        try (LocalStack stack = LocalStack.start(dataDir, 0, 0); AwsClients aws = new AwsClients(stack.settings())) {
            aws.s3().createBucket(b -> b.bucket("long"));
            S3ObjectStore store = new S3ObjectStore(aws.s3(), "long");
            store.put(key, data, "image/jpeg");
            store.put(Keys.input(job, "short.jpg"), new byte[] {1}, "image/jpeg");
            assertArrayEquals(data, store.get(key).orElseThrow());
            assertTrue(store.exists(key));
            assertEquals(List.of(key, Keys.input(job, "short.jpg")).stream().sorted().toList(), store.list(Keys.inputPrefix(job)));
            assertEquals(List.of(key), store.list(Keys.inputPrefix(job) + "ää"), "a prefix inside the long segment");
        }
        try (LocalStack stack = LocalStack.start(dataDir, 0, 0); AwsClients aws = new AwsClients(stack.settings())) {
            S3ObjectStore store = new S3ObjectStore(aws.s3(), "long");
            assertArrayEquals(data, store.get(key).orElseThrow(), "objects outlive the stack");
            store.delete(List.of(key));
            assertFalse(store.exists(key));
            assertEquals(List.of(Keys.input(job, "short.jpg")), store.list(""));
        }
    }

    @Test
    void should_take_a_multipart_upload_under_a_long_key() throws Exception {
        String key = "shards/" + "ö".repeat(150) + "/00000.tar"; // a 300-byte segment
        byte[] data = new byte[11 * 1024 * 1024];
        new Random(2).nextBytes(data);
        try (LocalStack stack = LocalStack.start(dataDir, 0, 0); AwsClients aws = new AwsClients(stack.settings())) {
            aws.s3().createBucket(b -> b.bucket("multi"));
            S3ObjectStore store = new S3ObjectStore(aws.s3(), "multi", 5 * 1024 * 1024);
            try (var out = store.openWrite(key, "application/x-tar")) {
                out.write(data);
            }
            assertEquals(List.of(key), store.list("shards/"));
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 6_000_000, 6_000_100), store.getRange(key, 6_000_000, 100, 100).orElseThrow());
        }
    }
}
