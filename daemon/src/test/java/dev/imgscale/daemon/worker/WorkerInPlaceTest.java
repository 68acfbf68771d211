package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.testing.FakeClassifier;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.testing.InMemoryWorkQueue;
import dev.imgscale.daemon.testing.StoredResults;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.wire.WorkRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Version-2 requests in fake time against the in-memory twins: images read where they are (a
 * source bucket of the same account) and shard members read by range, each bad one an error row
 * while its neighbours are labelled.
 */
@Timeout(60)
class WorkerInPlaceTest {
    final FakeTime time = new FakeTime();
    final InMemoryWorkQueue requests = new InMemoryWorkQueue("requests", time, new InMemoryWorkQueue("dlq", time), 3);
    final InMemoryWorkQueue results = new InMemoryWorkQueue("results", time);
    final InMemoryObjectStore input = new InMemoryObjectStore("input");
    final InMemoryObjectStore output = input.inBucket("output");
    final InMemoryObjectStore photos = input.inBucket("photos");
    final FakeClassifier classifier = new FakeClassifier(time, 1, 1, 1000);
    Worker worker;

    @AfterEach
    void stop() throws InterruptedException {
        if (worker != null) {
            worker.beginShutdown();
            for (int i = 0; i < 100 && !worker.awaitShutdown(Duration.ofMillis(50)); i++) {
                time.advance(Duration.ofSeconds(30));
            }
            assertTrue(worker.awaitShutdown(Duration.ofSeconds(5)), "the worker did not stop");
        }
    }

    String job(List<String> names) {
        String job = JobId.next(time.instant());
        output.put(Keys.manifest(job), Json.bytes(JobManifest.v1(job, time.millis(), "test", names)),
                "application/json");
        return job;
    }

    WorkRequest inPlace(String job, String name, String key) {
        return new WorkRequest(job, name, time.millis(), "s3://photos/" + key, new ImageLocation.InPlace(new ObjectRef("photos", key)));
    }

    void start() {
        worker = new Worker(classifier, requests, results, input, output, time,
                new WorkerOptions(10, Duration.ofSeconds(1), Duration.ofSeconds(3), 4, null, "test-worker", "fake-model"), 2);
        Thread t = new Thread(worker::run, "worker-under-test");
        t.setDaemon(true);
        t.start();
    }

    Map<String, ResultRecord> results(String job) {
        return StoredResults.byName(output, job);
    }

    @Test
    void should_read_images_in_place_and_answer_missing_non_image_and_oversized_ones_with_error_rows() {
        photos.put("2024/cat.jpg", FakeClassifier.image("tabby"), "image/jpeg");
        photos.put("2024/sub/dog.png", FakeClassifier.image("beagle"), "image/png");
        photos.put("2024/notes.jpg", "not an image".getBytes(StandardCharsets.UTF_8), "image/jpeg");
        photos.put("2024/huge.jpg", new byte[1001], "image/jpeg");
        String job = job(List.of("cat.jpg", "sub/dog.png", "notes.jpg", "huge.jpg", "gone.jpg"));
        List<String> bodies = new ArrayList<>();
        for (String name : List.of("cat.jpg", "sub/dog.png", "notes.jpg", "huge.jpg", "gone.jpg")) {
            bodies.add(inPlace(job, name, "2024/" + name).toJson());
        }
        requests.send(bodies);
        start();
        FakeTime.awaitReal(() -> worker.processed() == 5 && worker.inHand() == 0, () -> worker.processed() + " processed");

        Map<String, ResultRecord> r = results(job);
        assertEquals("tabby", r.get("cat.jpg").label());
        assertEquals("s3://photos/2024/cat.jpg", r.get("cat.jpg").source());
        assertEquals("beagle", r.get("sub/dog.png").label());
        assertEquals("CORRUPT", r.get("notes.jpg").error());
        assertEquals("TOO_LARGE", r.get("huge.jpg").error());
        assertEquals(dev.imgscale.daemon.worker.stage.Results.MISSING, r.get("gone.jpg").error());
        assertEquals("the image 2024/gone.jpg is not in bucket photos", r.get("gone.jpg").message());
        assertEquals("s3://photos/2024/gone.jpg", r.get("gone.jpg").source());
        assertEquals(List.of(), input.keys(), "nothing was copied into the input bucket");
        assertEquals(new QueueDepth(0, 0, 0), requests.depth(), "every request answered and deleted");
    }

    @Test
    void should_read_a_shard_member_by_its_range_and_answer_a_range_past_the_end_with_an_error_row() {
        byte[] a = FakeClassifier.image("macaw");
        byte[] b = FakeClassifier.image("dragonfly");
        byte[] shard = new byte[a.length + b.length + 7];
        System.arraycopy(a, 0, shard, 3, a.length);
        System.arraycopy(b, 0, shard, 3 + a.length, b.length);
        String job = job(List.of("a.jpg", "b.jpg", "c.jpg"));
        input.put("shards/" + job + "/00000.tar", shard, "application/x-tar");
        String key = "shards/" + job + "/00000.tar";
        requests.send(List.of(
                new WorkRequest(job, "a.jpg", time.millis(), "/home/me/a.jpg", new ImageLocation.InShard(key, 3, a.length)).toJson(),
                new WorkRequest(job, "b.jpg", time.millis(), "/home/me/b.jpg", new ImageLocation.InShard(key, 3 + a.length, b.length)).toJson(),
                new WorkRequest(job, "c.jpg", time.millis(), "/home/me/c.jpg", new ImageLocation.InShard(key, shard.length - 2, 5)).toJson()));
        start();
        FakeTime.awaitReal(() -> worker.processed() == 3 && worker.inHand() == 0, () -> worker.processed() + " processed");

        Map<String, ResultRecord> r = results(job);
        assertEquals("macaw", r.get("a.jpg").label());
        assertEquals("dragonfly", r.get("b.jpg").label());
        assertEquals("/home/me/b.jpg", r.get("b.jpg").source());
        assertEquals(dev.imgscale.daemon.worker.stage.Results.MISSING, r.get("c.jpg").error());
        assertNull(r.get("c.jpg").label());
    }

    @Test
    void should_read_neighbours_in_a_shard_with_one_ranged_get_and_give_a_corrupt_member_its_own_error_row() throws Exception {
        String job = job(List.of("a.jpg", "bad.jpg", "c.jpg"));
        List<dev.imgscale.daemon.shard.Shard> stored = new ArrayList<>();
        try (var writer = new dev.imgscale.daemon.shard.ShardWriter(input, Keys.shardPrefix(job), 10, 1 << 20, 0, stored::add)) {
            for (var e : List.of(Map.entry("a.jpg", FakeClassifier.image("macaw")),
                    Map.entry("bad.jpg", "JFIF but not really".getBytes(StandardCharsets.UTF_8)),
                    Map.entry("c.jpg", FakeClassifier.image("dragonfly")))) {
                writer.add(e.getKey(), e.getValue().length, new java.io.ByteArrayInputStream(e.getValue()));
            }
        }
        List<String> bodies = new ArrayList<>();
        for (var m : stored.get(0).members()) {
            bodies.add(new WorkRequest(job, m.name(), time.millis(), "/home/me/" + m.name(),
                    new ImageLocation.InShard(m.shardKey(), m.offset(), m.length())).toJson());
        }
        requests.send(bodies);
        long getsBefore = input.calls(InMemoryObjectStore.Op.GET);
        start();
        FakeTime.awaitReal(() -> worker.processed() == 3 && worker.inHand() == 0, () -> worker.processed() + " processed");

        Map<String, ResultRecord> r = results(job);
        assertEquals("macaw", r.get("a.jpg").label());
        assertEquals("CORRUPT", r.get("bad.jpg").error());
        assertEquals("dragonfly", r.get("c.jpg").label());
        assertEquals(1, input.calls(InMemoryObjectStore.Op.GET) - getsBefore, "the three neighbours came in one ranged GET");
    }

    @Test
    void should_answer_every_member_of_a_missing_shard_with_an_error_row() {
        String job = job(List.of("a.jpg", "b.jpg"));
        String key = Keys.shardPrefix(job) + "00000.tar";
        requests.send(List.of(
                new WorkRequest(job, "a.jpg", time.millis(), "/a.jpg", new ImageLocation.InShard(key, 512, 100)).toJson(),
                new WorkRequest(job, "b.jpg", time.millis(), "/b.jpg", new ImageLocation.InShard(key, 1536, 100)).toJson()));
        start();
        FakeTime.awaitReal(() -> worker.processed() == 2 && worker.inHand() == 0, () -> worker.processed() + " processed");

        Map<String, ResultRecord> r = results(job);
        assertEquals(dev.imgscale.daemon.worker.stage.Results.MISSING, r.get("a.jpg").error());
        assertEquals("The shard " + key + " is not in bucket input.", r.get("b.jpg").message());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth(), "answered, not retried");
    }

    @Test
    void should_still_read_version_one_requests_with_no_source_in_their_rows() {
        String job = job(List.of("old.jpg"));
        input.put(Keys.input(job, "old.jpg"), FakeClassifier.image("goldfish"), "image/jpeg");
        requests.send(List.of("{\"v\":1,\"job\":\"" + job + "\",\"name\":\"old.jpg\",\"sentAt\":1}"));
        start();
        FakeTime.awaitReal(() -> worker.processed() == 1 && worker.inHand() == 0, () -> worker.processed() + " processed");
        ResultRecord r = results(job).get("old.jpg");
        assertEquals("goldfish", r.label());
        assertNull(r.source());
        assertTrue(!Json.write(r).contains("source"), "an uploaded image's row is written as before");
    }
}
