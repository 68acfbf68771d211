package dev.imgscale.daemon.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.stack.ConfigLoader;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackProvisioner;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.S3Url;
import dev.imgscale.daemon.wire.WorkRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * What {@code upload s3://...} sends, on the real protocol: one version-2 request per image naming
 * the object where it is, names from the keys with ImageNames' rules, and a refusal of a bucket
 * outside {@code source-buckets} when the stack is not the local one.
 */
class InPlaceUploadSourcesIT {
    @TempDir
    static Path dataDir;

    static LocalStack local;
    static AwsClients aws;

    @BeforeAll
    static void start() {
        local = LocalStack.start(dataDir.resolve("stack"), 0, 0);
        aws = new AwsClients(local.settings());
        StackProvisioner.initLocal(local, aws, Map.of());
        aws.s3().createBucket(b -> b.bucket("photos"));
        aws.s3().createBucket(b -> b.bucket("secret"));
        // two spellings that NFC makes one name, and a key that looks like a collision suffix
        for (String key : List.of("2024/a.jpg", "2024/a~2.jpg", "2024/cafe\u0301.jpg", "2024/caf\u00e9.jpg", "2024/caf\u00e9~2.jpg",
                "2024/notes.txt")) {
            aws.s3().putObject(b -> b.bucket("photos").key(key), RequestBody.fromString("bytes"));
        }
    }

    @AfterAll
    static void stop() {
        if (aws != null) {
            aws.close();
        }
        if (local != null) {
            local.close();
        }
    }

    static StackContext context(boolean isLocal, Map<String, String> values) {
        StackConfig config = ConfigLoader.build(values, local.settings(), isLocal, null);
        return new StackContext(config, new AwsClients(local.settings()));
    }

    static final UploadListener QUIET = new UploadListener() {
    };

    @Test
    void should_send_one_version_2_request_per_image_named_by_its_key_below_the_prefix() {
        try (StackContext stack = context(true, Map.of())) {
            UploadReport report = new InPlaceUpload(stack, Clock.systemUTC()).prefix(S3Url.parse("s3://photos/2024/"), QUIET);
            Map<String, WorkRequest> sent = new TreeMap<>();
            for (int i = 0; i < 10 && sent.size() < 5; i++) {
                for (QueueMessage m : stack.requests().receive(10, Duration.ofSeconds(1), Duration.ofSeconds(30))) {
                    WorkRequest r = WorkRequest.parse(m.body());
                    sent.put(r.name(), r);
                }
            }
            Map<String, String> keyOf = new TreeMap<>();
            sent.forEach((name, r) -> keyOf.put(name, ((ImageLocation.InPlace) r.location()).object().key()));
            // NFC makes the two spellings of café one name: the second gets a suffix that no input has,
            // and the real café~2.jpg and a~2.jpg keep theirs
            assertEquals(Map.of("a.jpg", "2024/a.jpg", "a~2.jpg", "2024/a~2.jpg", "caf\u00e9.jpg", "2024/cafe\u0301.jpg",
                    "caf\u00e9~3.jpg", "2024/caf\u00e9.jpg", "caf\u00e9~2.jpg", "2024/caf\u00e9~2.jpg"), keyOf);
            ObjectRef a = new ObjectRef("photos", "2024/a.jpg");
            assertEquals(new WorkRequest(report.job(), "a.jpg", sent.get("a.jpg").sentAt(), a.toString(), new ImageLocation.InPlace(a)),
                    sent.get("a.jpg"));
            JobManifest manifest = new JobClient(stack, Clock.systemUTC()).requireManifest(report.job());
            // version 2, sealed with the count; a one-page job also lists its names (in the order sent)
            assertEquals(2, manifest.v());
            assertEquals(5, manifest.total());
            assertEquals(sent.keySet(), new java.util.TreeSet<>(manifest.images()));
            assertEquals(List.of(), stack.input().list(""), "nothing copied");
        }
    }

    @Test
    void should_refuse_a_bucket_outside_source_buckets_on_aws_naming_the_key_and_queue_nothing() throws Exception {
        try (StackContext stack = context(false, Map.of("source-buckets", "photos, other"))) {
            InPlaceUpload upload = new InPlaceUpload(stack, Clock.systemUTC());
            List<String> jobsBefore = stack.output().list(Keys.JOBS);
            ImgscaleException e = assertThrows(ImgscaleException.class, () -> upload.prefix(S3Url.parse("s3://secret/x/"), QUIET));
            assertEquals("The workers of stack imgscale may not read bucket secret: add it to source-buckets in the stack configuration"
                    + " (`imgscale init --source-bucket secret`) and to the worker role's policy.", e.getMessage());
            Path manifest = Files.write(dataDir.resolve("m.txt"), List.of("s3://photos/2024/a.jpg", "s3://secret/b.jpg"));
            ImgscaleException m = assertThrows(ImgscaleException.class, () -> upload.manifest(manifest.toString(), null, QUIET));
            assertTrue(m.getMessage().contains("may not read bucket secret"), m.getMessage());
            assertEquals(jobsBefore, stack.output().list(Keys.JOBS), "no job was written");
            assertEquals(List.of("photos", "other"), stack.config().sourceBuckets());
            assertTrue(stack.config().mayRead("photos"));
            assertFalse(stack.config().mayRead(stack.config().names().inputBucket()), "only what the policy grants");
        }
        try (StackContext stack = context(true, Map.of())) {
            assertTrue(stack.config().mayRead("secret"), "on the local stack any bucket of its S3 is a source");
        }
    }
}
