package dev.imgscale.daemon.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.local.LocalStackExtension;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.S3Url;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/** Any bucket of the local stack's S3 is a source: prefixes and manifests on the real protocol. */
class InPlaceSourcesIT {
    @TempDir
    static Path dataDir;

    static final RequestLedger LEDGER = RequestLedger.standalone();
    @RegisterExtension
    static final LocalStackExtension local = new LocalStackExtension(() -> dataDir.resolve("stack"), LEDGER);
    static InPlaceSources sources;

    @BeforeAll
    static void start() {
        sources = new InPlaceSources(bucket -> new S3ObjectStore(local.aws().s3(), bucket));
        local.aws().s3().createBucket(b -> b.bucket("photos"));
        for (String key : List.of("2024/a.jpg", "2024/sub/b.PNG", "2024/notes.txt", "2024/sub/c.jpeg", "2025/d.jpg", "2024x/e.jpg")) {
            local.aws().s3().putObject(b -> b.bucket("photos").key(key), RequestBody.fromString("not really an image"));
        }
    }

    @Test
    void should_list_the_images_under_a_prefix_in_key_order() {
        try (Stream<ObjectRef> images = sources.prefix(S3Url.parse("s3://photos/2024/"))) {
            assertEquals(List.of(new ObjectRef("photos", "2024/a.jpg"), new ObjectRef("photos", "2024/sub/b.PNG"),
                    new ObjectRef("photos", "2024/sub/c.jpeg")), images.toList());
        }
        try (Stream<ObjectRef> all = sources.prefix(S3Url.parse("s3://photos"))) {
            assertEquals(5, all.count());
        }
    }

    @Test
    void should_read_a_large_prefix_page_by_page_as_it_is_consumed() {
        local.aws().s3().createBucket(b -> b.bucket("many"));
        IntStream.range(0, 1100).parallel().forEach(i ->
                local.aws().s3().putObject(b -> b.bucket("many").key(String.format("p/%04d.jpg", i)), RequestBody.fromString("x")));
        RequestCounts before = LEDGER.snapshot();
        try (Stream<ObjectRef> images = sources.prefix(S3Url.parse("s3://many/p/"))) {
            assertEquals(new ObjectRef("many", "p/0000.jpg"), images.findFirst().orElseThrow());
        }
        assertEquals(1, LEDGER.snapshot().minus(before).get("S3", "ListObjectsV2"), "the first page only");
        before = LEDGER.snapshot();
        try (Stream<ObjectRef> images = sources.prefix(S3Url.parse("s3://many/p/"))) {
            assertEquals(1100, images.count());
        }
        assertEquals(2, LEDGER.snapshot().minus(before).get("S3", "ListObjectsV2"), "two pages of at most 1,000");
    }

    @Test
    void should_read_a_manifest_from_a_bucket_with_bare_keys_in_its_bucket() {
        local.aws().s3().putObject(b -> b.bucket("photos").key("lists/todo.csv"),
                RequestBody.fromString("id,key,label\n1,2024/a.jpg,cat\n2,s3://photos/2025/d.jpg,dog\n"));
        try (Stream<ObjectRef> images = sources.manifest("s3://photos/lists/todo.csv", null)) {
            assertEquals(List.of(new ObjectRef("photos", "2024/a.jpg"), new ObjectRef("photos", "2025/d.jpg")), images.toList());
        }
        ImgscaleException missing = assertThrows(ImgscaleException.class, () -> sources.manifest("s3://photos/lists/none.txt", null));
        assertTrue(missing.getMessage().contains("s3://photos/lists/none.txt"), missing.getMessage());
    }

    @Test
    void should_read_a_local_manifest_file() throws Exception {
        Path file = dataDir.resolve("manifest.txt");
        Files.writeString(file, "s3://photos/2024/a.jpg\n2024/sub/c.jpeg\n", StandardCharsets.UTF_8);
        try (Stream<ObjectRef> images = sources.manifest(file.toString(), "photos")) {
            assertEquals(List.of(new ObjectRef("photos", "2024/a.jpg"), new ObjectRef("photos", "2024/sub/c.jpeg")), images.toList());
        }
        assertThrows(ImgscaleException.class, () -> sources.manifest(dataDir.resolve("nope.txt").toString(), null));
    }

    @Test
    void should_say_in_one_sentence_that_a_source_bucket_does_not_exist() {
        ImgscaleException e = assertThrows(ImgscaleException.class, () -> {
            try (Stream<ObjectRef> images = sources.prefix(S3Url.parse("s3://no-such-bucket/x/"))) {
                images.count();
            }
        });
        assertTrue(e.getMessage().contains("no-such-bucket does not exist"), e.getMessage());
    }
}
