package dev.imgscale.daemon.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.local.LocalStackExtension;
import dev.imgscale.daemon.port.ObjectRangeException;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Tar shards on the local stack: written streaming, opened by the real tar, read back by range. */
class ShardIT {
    @TempDir
    static Path dataDir;

    static RequestLedger ledger = RequestLedger.standalone();
    @RegisterExtension
    static final LocalStackExtension local = new LocalStackExtension(() -> dataDir.resolve("stack"), ledger);
    static int buckets;

    static S3ObjectStore bucket(int partSize) {
        return bucket(partSize, 128L * 1024 * 1024);
    }

    static S3ObjectStore bucket(int partSize, long singlePutLimit) {
        String name = "shards-" + (++buckets);
        local.aws().s3().createBucket(b -> b.bucket(name));
        return new S3ObjectStore(local.aws().s3(), name, partSize, singlePutLimit);
    }

    /** Files of varied sizes and names: plain, nested, non-ASCII, and longer than ustar's 100 bytes. */
    static Map<String, byte[]> files(int n, long seed) {
        Random random = new Random(seed);
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String name = switch (i % 4) {
                case 0 -> "img" + i + ".jpg";
                case 1 -> "folder/sub/img" + i + ".png";
                case 2 -> "ünïcødé " + i + " 😀.jpg";
                default -> "long/" + "x".repeat(150) + "/" + "é".repeat(60) + i + ".jpg";
            };
            byte[] data = new byte[random.nextInt(i == 5 ? 1 : 40_000)];
            random.nextBytes(data);
            files.put(name, data);
        }
        return files;
    }

    static List<Shard> write(S3ObjectStore store, Map<String, byte[]> files, int maxMembers, long maxBytes) throws Exception {
        List<Shard> shards = new ArrayList<>();
        try (ShardWriter writer = new ShardWriter(store, "shards/job/", maxMembers, maxBytes, 1_764_900_000L, shards::add)) {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                writer.add(f.getKey(), f.getValue().length, new ByteArrayInputStream(f.getValue()));
            }
        }
        return shards;
    }

    @Test
    void should_write_shards_that_tar_lists_and_extracts_byte_for_byte() throws Exception {
        S3ObjectStore store = bucket(8 * 1024 * 1024);
        Map<String, byte[]> files = files(25, 1);
        List<Shard> shards = write(store, files, 10, 64L * 1024 * 1024);
        assertEquals(List.of(10, 10, 5), shards.stream().map(s -> s.members().size()).toList());
        assertEquals(List.of("shards/job/00000.tar", "shards/job/00001.tar", "shards/job/00002.tar"), shards.stream().map(Shard::key).toList());

        Path tarFile = dataDir.resolve("first.tar");
        Files.write(tarFile, store.get(shards.get(0).key()).orElseThrow());
        assertEquals(shards.get(0).size(), Files.size(tarFile));
        assertEquals(0, Files.size(tarFile) % TarWriter.BLOCK, "whole blocks");
        List<String> expected = new ArrayList<>(files.keySet()).subList(0, 10);
        assertEquals(expected, run(dataDir, "tar", "-tf", tarFile.toString()).lines().toList());

        Path out = Files.createDirectories(dataDir.resolve("extracted"));
        run(dataDir, "tar", "-xf", tarFile.toString(), "-C", out.toString());
        for (String name : expected) {
            assertArrayEquals(files.get(name), Files.readAllBytes(out.resolve(name)), name);
        }
    }

    @Test
    void should_read_members_back_by_range_with_one_get_for_neighbours() throws Exception {
        S3ObjectStore store = bucket(8 * 1024 * 1024);
        Map<String, byte[]> files = files(25, 2);
        List<Shard> shards = write(store, files, 10, 64L * 1024 * 1024);

        ShardReader reader = new ShardReader(store, 1024 * 1024, 16L * 1024 * 1024, 1024 * 1024);
        List<ShardMember> wanted = new ArrayList<>(shards.get(1).members());
        wanted.add(shards.get(2).members().get(3));
        RequestCounts before = ledger.snapshot();
        List<ShardReader.Fetched> fetched = reader.read(wanted);
        RequestCounts sent = ledger.snapshot().minus(before);
        assertEquals(RequestCounts.builder().add("S3", "GetObject", 2).build(), sent, "ten neighbours in one GET, one more for the other shard");
        for (int i = 0; i < wanted.size(); i++) {
            ShardReader.Fetched f = fetched.get(i);
            assertTrue(f.ok(), String.valueOf(f.error()));
            assertArrayEquals(files.get(wanted.get(i).name()), f.bytes(), wanted.get(i).name());
        }

        // every member alone, by its own range
        for (Shard shard : shards) {
            for (ShardMember m : shard.members()) {
                if (m.length() > 0) {
                    assertArrayEquals(files.get(m.name()), store.getRange(m.shardKey(), m.offset(), m.length(), m.length()).orElseThrow());
                }
            }
        }
    }

    @Test
    void should_stream_a_shard_past_the_single_put_limit_as_a_multipart_upload() throws Exception {
        int part = 5 * 1024 * 1024; // S3's (and S3Proxy's) smallest part but the last
        S3ObjectStore store = bucket(part, part);
        Map<String, byte[]> files = bigFiles();
        RequestCounts before = ledger.snapshot();
        List<Shard> shards = write(store, files, 1000, 64L * 1024 * 1024);
        RequestCounts sent = ledger.snapshot().minus(before);
        assertEquals(1, shards.size());
        assertEquals(1, sent.get("S3", "CreateMultipartUpload"));
        assertEquals(1, sent.get("S3", "CompleteMultipartUpload"));
        assertEquals((shards.get(0).size() + part - 1) / part, sent.get("S3", "UploadPart"));
        assertEquals(3, sent.get("S3", "UploadPart"));
        assertEquals(0, sent.get("S3", "PutObject"));
        assertReadBack(store, shards, files);
    }

    @Test
    void should_store_a_shard_of_several_parts_within_the_limit_with_one_put_object() throws Exception {
        int part = 5 * 1024 * 1024;
        S3ObjectStore store = bucket(part);
        Map<String, byte[]> files = bigFiles();
        RequestCounts before = ledger.snapshot();
        List<Shard> shards = write(store, files, 1000, 64L * 1024 * 1024);
        RequestCounts sent = ledger.snapshot().minus(before);
        assertEquals(1, shards.size());
        assertTrue(shards.get(0).size() > 2L * part, "the shard is more than two parts: " + shards.get(0).size());
        assertEquals(1, sent.get("S3", "PutObject"));
        assertEquals(0, sent.get("S3", "CreateMultipartUpload"));
        assertEquals(0, sent.get("S3", "UploadPart"));
        assertReadBack(store, shards, files);
    }

    /** 24 files of about 500 KB: one shard of about 12 MB. */
    private static Map<String, byte[]> bigFiles() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        Random random = new Random(3);
        for (int i = 0; i < 24; i++) {
            byte[] data = new byte[500_000 + i];
            random.nextBytes(data);
            files.put("big/" + i + ".jpg", data);
        }
        return files;
    }

    private static void assertReadBack(S3ObjectStore store, List<Shard> shards, Map<String, byte[]> files) throws Exception {
        ShardReader reader = new ShardReader(store, 0, 1024 * 1024, 1024 * 1024);
        for (ShardReader.Fetched f : reader.read(shards.get(0).members())) {
            assertArrayEquals(files.get(f.member().name()), f.bytes(), f.member().name());
        }
    }

    @Test
    void should_start_a_new_shard_before_it_passes_the_byte_limit() throws Exception {
        S3ObjectStore store = bucket(8 * 1024 * 1024);
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int i = 0; i < 6; i++) {
            files.put("f" + i, new byte[30_000]);
        }
        List<Shard> shards = write(store, files, 1000, 100_000);
        assertEquals(List.of(3, 3), shards.stream().map(s -> s.members().size()).toList());
        assertTrue(shards.stream().allMatch(s -> s.size() <= 100_000 + TarWriter.BLOCK), shards.toString());
    }

    @Test
    void should_refuse_ranges_past_the_end_or_over_the_limit_and_report_missing_shards() throws Exception {
        S3ObjectStore store = bucket(8 * 1024 * 1024);
        store.put("s.tar", "0123456789".getBytes(StandardCharsets.US_ASCII), "application/x-tar");
        assertEquals("345", new String(store.getRange("s.tar", 3, 3, 3).orElseThrow(), StandardCharsets.US_ASCII));
        assertThrows(ObjectRangeException.class, () -> store.getRange("s.tar", 8, 5, 100));
        assertThrows(ObjectRangeException.class, () -> store.getRange("s.tar", 20, 5, 100));
        RequestCounts before = ledger.snapshot();
        ObjectTooLargeException e = assertThrows(ObjectTooLargeException.class, () -> store.getRange("s.tar", 0, 10, 9));
        assertEquals(10, e.size());
        assertEquals(RequestCounts.EMPTY, ledger.snapshot().minus(before), "an oversized range is not requested");
        assertEquals(Optional.empty(), store.getRange("missing.tar", 0, 5, 100));

        ShardReader reader = new ShardReader(store, 0, 100, 4);
        List<ShardReader.Fetched> got = reader.read(List.of(new ShardMember("s.tar", "big", 0, 5), new ShardMember("s.tar", "ok", 5, 2),
                new ShardMember("gone.tar", "lost", 0, 2), new ShardMember("s.tar", "short", 9, 3)));
        assertInstanceOf(ObjectTooLargeException.class, got.get(0).error());
        assertEquals("56", new String(got.get(1).bytes(), StandardCharsets.US_ASCII));
        assertTrue(got.get(2).error().getMessage().contains("gone.tar"), got.get(2).error().getMessage());
        assertInstanceOf(ObjectRangeException.class, got.get(3).error());
        assertFalse(got.get(3).ok());
    }

    @Test
    void should_plan_one_read_per_run_of_close_members() {
        List<ShardMember> members = List.of(new ShardMember("a", "1", 0, 100), new ShardMember("a", "3", 1000, 100),
                new ShardMember("a", "2", 612, 100), new ShardMember("b", "4", 0, 10), new ShardMember("a", "5", 100_000, 10));
        List<ShardReader.Span> spans = ShardReader.plan(members, 512, 10_000);
        assertEquals(3, spans.size(), spans.toString());
        assertEquals(0, spans.get(0).offset());
        assertEquals(1100, spans.get(0).end());
        assertEquals(List.of("1", "2", "3"), spans.get(0).members().stream().map(ShardMember::name).toList());
        assertEquals(100_000, spans.get(1).offset());
        assertEquals("b", spans.get(2).shardKey());
        // a span never grows past its limit
        assertEquals(3, ShardReader.plan(members.subList(0, 3), 512, 700).size() + 1);
    }

    static String run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }
}
