package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.TestAssets;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.decode.BadImageCorpus;
import dev.imgscale.classifier.decode.DecodeLimits;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.aws.SqsWorkQueue;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultBatch;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.client.ResultObjects;
import dev.imgscale.daemon.testing.StoredResults;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.StackNames;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.worker.stage.BatchStage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * The integration tier of the worker (run by failsafe in {@code mvn verify}): the worker against
 * the embedded S3 and SQS and the real mobilenet-v2-int8 classifier, in real time. Each test gets
 * fresh buckets and queues (the request queue redriving to a dead-letter queue, as
 * {@code imgscale init} provisions it) and runs a worker on its own thread. The same behaviours,
 * with exact timings, are unit-tested in fake time by {@link WorkerTest}.
 */
class WorkerIT {
    static final String MODEL = "mobilenet-v2-int8";

    @TempDir
    static Path dataDir;

    static LocalStack local;
    static AwsClients aws;
    static Classifier classifier;
    static Map<String, String[]> expected;
    static final AtomicInteger STACKS = new AtomicInteger();

    final List<Worker> running = new ArrayList<>();

    @BeforeAll
    static void start(@TempDir Path cache) throws IOException {
        local = LocalStack.start(dataDir, 0, 0);
        aws = new AwsClients(local.settings());
        long t0 = System.nanoTime();
        classifier = Classifier.open(ModelCatalog.builtIn().model(MODEL), TestAssets.resolver(cache),
                new ClassifierOptions("auto", 0, 0, 10, 0, 5, DecodeLimits.DEFAULT), null);
        System.out.printf("[measure] %s loaded in %d ms%n", MODEL, (System.nanoTime() - t0) / 1_000_000);
        expected = new LinkedHashMap<>();
        for (String[] row : TestAssets.expected()) {
            expected.put(row[0], row);
        }
    }

    @AfterAll
    static void stop() {
        if (classifier != null) {
            classifier.close();
        }
        if (aws != null) {
            aws.close();
        }
        if (local != null) {
            local.close();
        }
    }

    @AfterEach
    void stopWorkers() throws InterruptedException {
        for (Worker w : running) {
            w.beginShutdown();
            assertTrue(w.awaitShutdown(Duration.ofSeconds(30)), "a worker did not stop");
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void should_label_the_development_images_as_expected_and_leave_the_request_queue_empty() throws Exception {
        Stack s = newStack(5);
        Worker worker = startWorker(s, s.input, options());
        awaitState(worker, WorkerState.POLLING);

        long t0 = System.nanoTime();
        String job = upload(s, developmentImages(expected.keySet()));
        await(Duration.ofSeconds(60), () -> worker.processed() == expected.size(),
                () -> worker.processed() + " of " + expected.size() + " processed");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("[measure] %d images end to end (upload, requests, worker, results) in %d ms: %.1f images/s,"
                + " %d batches%n", expected.size(), ms, expected.size() * 1000.0 / ms, worker.batches());

        Map<String, ResultRecord> results = results(s, job);
        assertEquals(expected.keySet(), results.keySet());
        StringBuilder mismatches = new StringBuilder();
        int checked = 0;
        for (String[] row : expected.values()) {
            ResultRecord r = results.get(row[0]);
            assertTrue(r.ok(), () -> row[0] + " failed: " + r.error() + " " + r.message());
            assertEquals(MODEL, r.model());
            assertEquals("test-worker", r.worker());
            assertEquals(1, r.receives());
            assertEquals(5, r.top().size());
            assertNotNull(r.latencyMs());
            if (Double.parseDouble(row[2]) >= 0.5) {
                checked++;
                if (!row[1].equals(r.label())) {
                    mismatches.append(String.format("%s: expected %s (%s), got %s (%.2f)%n", row[0], row[1], row[2], r.label(), r.score()));
                }
            }
        }
        assertTrue(checked >= 9, "expected.csv should have at least 9 confident rows, had " + checked);
        assertEquals("", mismatches.toString());

        assertEquals(new QueueDepth(0, 0, 0), s.requests.depth(), "request queue after the job");
        assertEquals(0, s.deadLetters.depth().total(), "dead-letter queue");
        List<ResultBatch.Notice> events = drainEvents(s);
        assertEquals(expected.size(), events.stream().mapToInt(ResultBatch.Notice::images).sum(), "the notices count each image once");
        for (ResultBatch.Notice e : events) {
            assertEquals(job, e.job());
            assertTrue(s.output.exists(e.key()), "a notice names its object: " + e.key());
        }
        assertEquals(expected.size(), worker.processed());
        assertEquals(0, worker.failed());
        assertEquals(0, worker.left());
    }

    @Test
    void should_write_error_results_for_broken_images_and_labels_for_the_good_ones(@TempDir Path dir) throws Exception {
        Map<String, ErrorCode> bad = BadImageCorpus.writeTo(dir);
        Map<String, byte[]> images = new TreeMap<>();
        for (String name : bad.keySet()) {
            images.put(name, Files.readAllBytes(dir.resolve(name)));
        }
        List<String> good = List.of("parrot.jpg", "dragonfly.bmp", "cat_720p.jpg");
        images.putAll(developmentImages(good));
        Stack s = newStack(5);
        String job = upload(s, images);
        Worker worker = startWorker(s, s.input, options());
        await(Duration.ofSeconds(60), () -> worker.processed() == images.size(),
                () -> worker.processed() + " of " + images.size() + " processed");

        Map<String, ResultRecord> results = results(s, job);
        assertEquals(images.keySet(), results.keySet());
        for (Map.Entry<String, ErrorCode> e : bad.entrySet()) {
            ResultRecord r = results.get(e.getKey());
            assertEquals(e.getValue().name(), r.error(), e.getKey() + ": " + r.message());
            assertNotNull(r.message(), e.getKey());
            assertNull(r.label(), e.getKey());
        }
        for (String name : good) {
            assertEquals(expected.get(name)[1], results.get(name).label(), name);
        }
        assertEquals(bad.size(), worker.failed());
        assertEquals(new QueueDepth(0, 0, 0), s.requests.depth(), "rejected images are not retried");
        assertEquals(0, s.deadLetters.depth().total(), "nothing in the dead-letter queue");
    }

    @Test
    void should_write_a_missing_result_for_an_image_that_is_not_in_the_bucket() throws Exception {
        Stack s = newStack(5);
        String job = upload(s, developmentImages(List.of("parrot.jpg")));
        s.requests.send(List.of(Json.write(ImageRequest.of(job, "ghost.jpg", System.currentTimeMillis()))));
        Worker worker = startWorker(s, s.input, options());
        await(Duration.ofSeconds(30), () -> worker.processed() == 2, () -> worker.processed() + " of 2 processed");

        ResultRecord ghost = results(s, job).get("ghost.jpg");
        assertEquals(Worker.MISSING, ghost.error());
        assertTrue(ghost.message().contains(Keys.input(job, "ghost.jpg")), ghost.message());
        assertEquals("macaw", results(s, job).get("parrot.jpg").label());
        assertEquals(new QueueDepth(0, 0, 0), s.requests.depth());
    }

    @Test
    void should_write_one_result_for_a_request_that_is_delivered_twice() throws Exception {
        Stack s = newStack(5);
        String job = upload(s, developmentImages(List.of("parrot.jpg")));
        // A worker that died: it received the request and never deleted it.
        List<QueueMessage> lost = s.requests.receive(10, Duration.ofSeconds(2), Duration.ofSeconds(1));
        assertEquals(1, lost.size());
        // And SQS's at-least-once delivery: the same request twice.
        s.requests.send(List.of(lost.get(0).body()));
        Thread.sleep(1_200);

        Worker worker = startWorker(s, s.input, options());
        await(Duration.ofSeconds(30), () -> worker.processed() == 2, () -> worker.processed() + " of 2 processed");

        // both in one receive: one row; in two (SQS may return fewer): a row each, which readers take once
        List<ResultRecord> rows = StoredResults.rows(s.output, job);
        assertTrue(rows.size() == 1 || rows.size() == 2, "rows " + rows);
        assertEquals(Set.of("parrot.jpg"), StoredResults.byName(s.output, job).keySet());
        assertEquals("macaw", StoredResults.byName(s.output, job).get("parrot.jpg").label());
        assertEquals(rows.size(), drainEvents(s).stream().mapToInt(ResultBatch.Notice::images).sum());
        assertEquals(new QueueDepth(0, 0, 0), s.requests.depth());
    }

    @Test
    void should_finish_the_batch_in_hand_when_shutdown_begins() throws Exception {
        Stack s = newStack(5);
        List<String> names = new ArrayList<>(expected.keySet()).subList(0, 10);
        String job = upload(s, developmentImages(names));
        GatedStore gated = new GatedStore(s.input);
        Worker worker = startWorker(s, gated, options());
        assertTrue(gated.entered.await(30, TimeUnit.SECONDS), "the worker never fetched an image");
        assertEquals(WorkerState.WORKING, worker.state());

        worker.beginShutdown();
        assertEquals(WorkerState.DRAINING, worker.state());
        gated.open.countDown();
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(30)), "the worker did not stop");
        assertEquals(WorkerState.STOPPED, worker.state());

        long done = worker.processed();
        assertEquals(1, worker.batches(), "no batch after shutdown began");
        assertTrue(done >= 1, "the batch in hand was finished");
        assertEquals(done, results(s, job).size(), "a result for each request handled");
        QueueDepth depth = s.requests.depth();
        assertEquals(0, depth.inFlight(), "no request left in flight: " + depth);
        assertEquals(names.size() - done, depth.visible(), "the rest wait for another worker: " + depth);
    }

    @Test
    void should_stop_at_once_when_shutdown_begins_during_a_long_poll_and_give_back_what_it_brings() throws Exception {
        Stack s = newStack(5);
        Worker worker = startWorker(s, s.input, options().withPollWait(Duration.ofSeconds(20)));
        awaitState(worker, WorkerState.POLLING);
        Thread.sleep(300); // into the long poll
        long t0 = System.nanoTime();
        worker.beginShutdown();
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(3)), "the worker waited out its long poll");
        System.out.printf("[measure] idle worker stopped %d ms after beginShutdown%n", (System.nanoTime() - t0) / 1_000_000);
        assertEquals(WorkerState.STOPPED, worker.state());

        // The abandoned poll is still open at the queue: a request arriving now is received by it,
        // and must be made visible again rather than held for the 30 s visibility timeout.
        String job = upload(s, developmentImages(List.of("parrot.jpg")));
        await(Duration.ofSeconds(10), () -> {
            QueueDepth d = s.requests.depth();
            return d.visible() == 1 && d.inFlight() == 0;
        }, () -> "request queue " + s.requests.depth());
        List<QueueMessage> again = s.requests.receive(10, Duration.ofSeconds(1), Duration.ofSeconds(30));
        assertEquals(1, again.size());
        assertEquals(2, again.get(0).receiveCount(), "received once by the abandoned poll");
        assertEquals(List.of(), s.output.list(Keys.resultPrefix(job)));
    }

    /** The exact time of the idle exit is WorkerTest's (fake time); here, that it happens against the real queue. */
    @Test
    void should_stop_after_the_idle_exit_time_without_requests() throws Exception {
        Stack s = newStack(5);
        Worker worker = startWorker(s, s.input, options().withIdleExit(Duration.ofSeconds(2)));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(15)), "the worker did not exit when idle");
        assertEquals(WorkerState.STOPPED, worker.state());
        assertEquals(0, worker.batches());
    }

    @Test
    void should_leave_requests_it_cannot_handle_to_the_dead_letter_queue() throws Exception {
        Stack s = newStack(2);
        String job = upload(s, developmentImages(List.of("parrot.jpg")));
        ObjectStore down = new GatedStore(s.input) {
            @Override
            public Optional<byte[]> get(String key, long maxBytes) {
                throw SdkClientException.create("Unable to execute HTTP request: Connection refused (test)");
            }
        };
        String garbage = "this is not a request";
        String malformed = "{\"v\":1,\"job\":\"" + job + "\",\"name\":\"odd.jpg\",\"sentAt\":\"yesterday\"}";
        s.requests.send(List.of(garbage, malformed));
        Worker worker = startWorker(s, down, options().withVisibility(Duration.ofSeconds(1)));

        await(Duration.ofSeconds(30), () -> s.deadLetters.depth().visible() == 2,
                () -> "dead-letter queue " + s.deadLetters.depth() + ", requests " + s.requests.depth());
        Set<String> dead = new HashSet<>();
        for (QueueMessage m : s.deadLetters.receive(10, Duration.ofSeconds(1), Duration.ofSeconds(30))) {
            dead.add(m.body());
        }
        assertEquals(Set.of(garbage, "{\"v\":1,\"job\":\"" + job + "\",\"name\":\"parrot.jpg\"}"), stripSentAt(dead));
        Map<String, ResultRecord> results = results(s, job);
        assertEquals(Set.of("odd.jpg"), results.keySet(), "no result for the image that could not be fetched");
        assertEquals(Worker.MALFORMED, results.get("odd.jpg").error());
        assertTrue(worker.left() >= 4, "each of two requests left at least twice: " + worker.left());
    }

    @Test
    void should_keep_a_slow_batch_invisible_with_the_heartbeat() throws Exception {
        Stack s = newStack(5);
        String job = upload(s, developmentImages(List.of("parrot.jpg")));
        GatedStore gated = new GatedStore(s.input);
        Worker worker = startWorker(s, gated, options().withVisibility(Duration.ofSeconds(1)));
        assertTrue(gated.entered.await(30, TimeUnit.SECONDS), "the worker never fetched the image");
        // Three visibility timeouts in the middle of the batch: without the heartbeat the request
        // would be visible again (and another worker would take it).
        long until = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < until) {
            QueueDepth d = s.requests.depth();
            assertEquals(new QueueDepth(0, 1, 0), d, "request queue while the batch is in hand");
            Thread.sleep(150);
        }
        gated.open.countDown();
        await(Duration.ofSeconds(30), () -> worker.processed() == 1, () -> "not processed");
        assertEquals(1, results(s, job).get("parrot.jpg").receives());
        assertEquals(new QueueDepth(0, 0, 0), s.requests.depth());
    }

    @Test
    void should_drop_the_requests_of_a_job_that_was_reset() throws Exception {
        Stack s = newStack(5);
        String job = upload(s, developmentImages(List.of("parrot.jpg")));
        s.output.delete(List.of(Keys.manifest(job)));
        Worker worker = startWorker(s, s.input, options());
        await(Duration.ofSeconds(30), () -> worker.cancelled() == 1, () -> "not dropped");
        assertEquals(List.of(), s.output.list(Keys.resultPrefix(job)));
        assertEquals(new QueueDepth(0, 0, 0), s.requests.depth());
    }

    @Test
    void should_build_a_worker_for_a_stack_from_its_configuration(@TempDir Path cache) throws Exception {
        Stack s = newStack(5);
        String prefix = s.requests.name().substring(0, s.requests.name().length() - "-requests".length());
        StackNames names = new StackNames(prefix, s.input.name(), s.output.name(), s.requests.name(), s.deadLetters.name(),
                s.results.name());
        StackConfig config = new StackConfig(names, MODEL, local.settings(), true, Duration.ofSeconds(45), 5, Map.of());
        Map<String, String> env = Map.of("IMGSCALE_ASSETS", String.join(File.pathSeparator, TestAssets.folders().stream()
                .map(Path::toString).toList()), "IMGSCALE_CACHE", cache.toString(), "IMGSCALE_OFFLINE", "1");

        StackNames missing = new StackNames("nothing", "nothing-input", "nothing-output", "nothing-requests",
                "nothing-requests-dlq", "nothing-results");
        StackConfig none = new StackConfig(missing, MODEL, local.settings(), true, Duration.ofSeconds(45), 5, Map.of());
        ImgscaleException e = assertThrows(ImgscaleException.class,
                () -> WorkerRuntime.open(new StackContext(none, aws), env, WorkerRuntime.Settings.defaults(), null));
        assertEquals("The queue nothing-requests does not exist; run `imgscale init` (or `imgscale local up`) first.", e.getMessage());

        String job = upload(s, developmentImages(List.of("parrot.jpg")));
        try (WorkerRuntime runtime = WorkerRuntime.open(new StackContext(config, aws), env,
                WorkerRuntime.Settings.defaults().withIdleExit(Duration.ofSeconds(1)).withWorkerId("runtime-worker"), null)) {
            Worker worker = runtime.worker();
            assertEquals(Duration.ofSeconds(45), worker.options().visibility());
            assertEquals(MODEL, worker.options().model());
            worker.run(); // returns by the idle exit once the request is handled
            assertEquals(1, worker.processed());
        }
        ResultRecord r = results(s, job).get("parrot.jpg");
        assertEquals("macaw", r.label());
        assertEquals("runtime-worker", r.worker());
    }

    @Test
    void should_keep_requests_received_for_the_next_batch_invisible_and_finish_every_batch_in_hand_on_shutdown() throws Exception {
        Stack s = newStack(5);
        Map<String, byte[]> images = new TreeMap<>();
        List<String> names = new ArrayList<>(expected.keySet());
        // per classify stream a batch classified and one decoded waiting in its hand-off, one in the
        // finish stage and one received early
        int streams = classifier.streams();
        int total = (2 * streams + 2) * 10;
        for (int i = 0; i < total; i++) {
            String name = names.get(i % names.size());
            images.put(i + "/" + name, Files.readAllBytes(TestAssets.images().resolve(name)));
        }
        String job = upload(s, images);
        List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        RecordingQueue requests = new RecordingQueue(s.requests, log);
        GatedQueue results = new GatedQueue(s.results);
        RecordingStore output = new RecordingStore(s.output, log);
        int[] held = new int[1];
        // Publishing the first batch's results waits at the gate: the finish stage holds it, each
        // classify stream classifies another and waits to hand it on while its decoder has decoded a
        // third (CLASSIFYING) and waits to hand that on, and the receive stage takes the last batch
        // early and prepares it. A 1 s visibility: only the heartbeat keeps them hidden.
        // (flushes of one batch each: the first batch's flush is what waits at the gate)
        Worker worker = new Worker(classifier, requests, results, s.input, output, Clock.systemUTC(),
                options().withVisibility(Duration.ofSeconds(1)).withFlush(1, Duration.ofSeconds(5)));
        running.add(worker);
        Thread t = new Thread(worker::run, "worker-under-test");
        t.setDaemon(true);
        t.start();
        try {
            assertTrue(results.entered.await(60, TimeUnit.SECONDS), "the worker never published");
            // (SQS may return fewer than ten per receive: then fewer are held, and the rest wait)
            await(Duration.ofSeconds(60), () -> worker.pipeline().getOrDefault(BatchStage.PREPARED, 0) > 0
                            && worker.pipeline().getOrDefault(BatchStage.CLASSIFIED, 0) > 0 && worker.pipeline().size() == 4,
                    () -> "in hand " + worker.inHand() + ", stages " + worker.pipeline());
            Map<BatchStage, Integer> stages = worker.pipeline();
            held[0] = worker.inHand();
            assertTrue(stages.size() == 4 && held[0] > total - 10, "2 x streams + 2 batches held, in every stage: " + stages);
            assertEquals(held[0], stages.values().stream().mapToInt(Integer::intValue).sum(), "inHand counts every stage: " + stages);
            assertEquals(WorkerState.WORKING, worker.state());

            // Three visibility timeouts with every batch held: none may become visible again.
            long until = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < until) {
                assertEquals(new QueueDepth(total - held[0], held[0], 0), s.requests.depth(),
                        "request queue while the batches are held, " + stages);
                Thread.sleep(150);
            }
            assertEquals(List.of(), requests.deleted, "nothing deleted before its results are published");
            assertEquals(held[0], worker.inHand());

            worker.beginShutdown();
            assertEquals(WorkerState.DRAINING, worker.state());
        } finally {
            // open the gate even when an assertion failed, so that the worker can stop
            results.open.countDown();
        }
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(60)), "the worker did not stop");
        assertEquals(WorkerState.STOPPED, worker.state());

        // Everything in hand was finished, the batch received early included.
        assertEquals(held[0], worker.received(), "nothing received after shutdown began");
        assertEquals(held[0], worker.processed());
        assertEquals(0, worker.left());
        assertEquals(0, worker.failed());
        assertEquals(0, worker.inHand());
        assertTrue(worker.batches() >= 2 * streams + 2, "batches: " + worker.batches());
        Map<String, ResultRecord> written = results(s, job);
        assertEquals(held[0], written.size());
        assertEquals(new QueueDepth(total - held[0], 0, 0), s.requests.depth(), "the rest wait, visible, for another worker");
        // Each request deleted only after its result object was written.
        List<String> events = new ArrayList<>(log);
        assertEquals(held[0], requests.deleted.size());
        Map<String, Integer> putAt = new HashMap<>();
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).startsWith("put " + Keys.resultPrefix(job))) {
                int at = i;
                for (ResultRecord r : ResultObjects.read(s.output, job, events.get(i).substring(4))) {
                    putAt.putIfAbsent(r.name(), at);
                }
            }
        }
        for (String name : written.keySet()) {
            int put = putAt.getOrDefault(name, -1);
            int deleted = events.indexOf("delete " + job + "/" + name);
            assertTrue(put >= 0 && deleted > put, name + ": written at " + put + ", deleted at " + deleted + " in " + events);
        }
    }

    @Test
    void should_process_every_request_once_with_more_classify_streams_than_cores_and_stop_cleanly(@TempDir Path cache) throws Exception {
        Stack s = newStack(5);
        Map<String, byte[]> images = new TreeMap<>();
        List<String> names = new ArrayList<>(expected.keySet());
        for (int i = 0; i < 47; i++) {
            String name = names.get(i % names.size());
            images.put(i + "/" + name, Files.readAllBytes(TestAssets.images().resolve(name)));
        }
        int streams = Runtime.getRuntime().availableProcessors() + 1;
        try (Classifier many = Classifier.open(ModelCatalog.builtIn().model(MODEL), TestAssets.resolver(cache),
                new ClassifierOptions("auto", 1, streams, 10, 0, 5, DecodeLimits.DEFAULT), null)) {
            assertEquals(streams, many.streams());
            Worker worker = new Worker(many, s.requests, s.results, s.input, s.output, Clock.systemUTC(), options());
            running.add(worker);
            Thread t = new Thread(worker::run, "worker-under-test");
            t.setDaemon(true);
            t.start();
            String job = upload(s, images);
            await(Duration.ofSeconds(120), () -> worker.processed() == images.size(),
                    () -> worker.processed() + " of " + images.size() + " processed");
            worker.beginShutdown();
            assertTrue(worker.awaitShutdown(Duration.ofSeconds(30)), "every classify stream ends and the worker stops");
            t.join(10_000);
            assertFalse(t.isAlive());
            Map<String, ResultRecord> results = results(s, job);
            assertEquals(images.keySet(), results.keySet());
            for (Map.Entry<String, ResultRecord> e : results.entrySet()) {
                String file = e.getKey().substring(e.getKey().indexOf('/') + 1);
                String[] row = expected.get(file);
                assertTrue(e.getValue().ok(), e.getKey());
                if (Double.parseDouble(row[2]) >= 0.5) {
                    assertEquals(row[1], e.getValue().label(), e.getKey());
                }
            }
            assertEquals(images.size(), drainEvents(s).stream().mapToInt(ResultBatch.Notice::images).sum(), "each image in one notice");
            assertEquals(new QueueDepth(0, 0, 0), s.requests.depth());
            assertEquals(0, worker.left());
            assertEquals(images.size(), worker.received());
        }
    }

    /** Not part of the suite: {@code -Dimgscale.measure=true} measures a longer run for the notes. */
    @Test
    @EnabledIfSystemProperty(named = "imgscale.measure", matches = "true")
    void measure_throughput_of_one_worker() throws Exception {
        Stack s = newStack(5);
        int copies = Integer.getInteger("imgscale.measure.copies", 20);
        Map<String, byte[]> images = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : developmentImages(expected.keySet()).entrySet()) {
            for (int i = 0; i < copies; i++) {
                images.put(i + "/" + e.getKey(), e.getValue());
            }
        }
        int batch = Integer.getInteger("imgscale.measure.batch", 10);
        upload(s, images); // stored before the worker starts: this measures the worker alone
        try (Classifier own = Classifier.open(ModelCatalog.builtIn().model(MODEL), TestAssets.resolver(dataDir.resolve("cache")),
                new ClassifierOptions("auto", 0, 0, batch, 0, 5, DecodeLimits.DEFAULT), null)) {
            long t0 = System.nanoTime();
            Worker worker = new Worker(own, s.requests, s.results, s.input, s.output, Clock.systemUTC(), options());
            Thread t = new Thread(worker::run, "worker-under-measure");
            t.start();
            await(Duration.ofMinutes(10), () -> worker.processed() == images.size(), () -> worker.processed() + " processed");
            double seconds = (System.nanoTime() - t0) / 1e9;
            worker.beginShutdown();
            assertTrue(worker.awaitShutdown(Duration.ofSeconds(30)));
            System.out.printf("[measure] one worker, forward batch %d: %d images in %.1f s: %.1f images/s, %.0f images/min,"
                    + " %d batches%n", batch, images.size(), seconds, images.size() / seconds, images.size() * 60 / seconds,
                    worker.batches());
        }
    }

    // ---------------------------------------------------------------------------------------------

    /** One test's stack: its own buckets and queues. */
    record Stack(S3ObjectStore input, S3ObjectStore output, SqsWorkQueue requests, SqsWorkQueue deadLetters,
                 SqsWorkQueue results) {
    }

    /** Fresh buckets and queues; the request queue moves a request to the dead-letter queue after {@code maxReceives}. */
    static Stack newStack(int maxReceives) {
        String name = "w" + STACKS.incrementAndGet();
        aws.s3().createBucket(b -> b.bucket(name + "-input"));
        aws.s3().createBucket(b -> b.bucket(name + "-output"));
        String dlqUrl = aws.sqs().createQueue(b -> b.queueName(name + "-requests-dlq")).queueUrl();
        String dlqArn = aws.sqs().getQueueAttributes(b -> b.queueUrl(dlqUrl).attributeNames(QueueAttributeName.QUEUE_ARN))
                .attributes().get(QueueAttributeName.QUEUE_ARN);
        aws.sqs().createQueue(b -> b.queueName(name + "-requests").attributes(Map.of(QueueAttributeName.REDRIVE_POLICY,
                "{\"deadLetterTargetArn\":\"" + dlqArn + "\",\"maxReceiveCount\":\"" + maxReceives + "\"}")));
        aws.sqs().createQueue(b -> b.queueName(name + "-results"));
        return new Stack(new S3ObjectStore(aws.s3(), name + "-input"), new S3ObjectStore(aws.s3(), name + "-output"),
                SqsWorkQueue.open(aws.sqs(), name + "-requests"), SqsWorkQueue.open(aws.sqs(), name + "-requests-dlq"),
                SqsWorkQueue.open(aws.sqs(), name + "-results"));
    }

    /** Short polls so that the tests stop quickly; the stack's default visibility. */
    static WorkerOptions options() {
        return new WorkerOptions(10, Duration.ofSeconds(1), Duration.ofSeconds(30), 8, null, "test-worker", MODEL);
    }

    Worker startWorker(Stack s, ObjectStore input, WorkerOptions options) {
        Worker worker = new Worker(classifier, s.requests, s.results, input, s.output, Clock.systemUTC(), options);
        running.add(worker);
        Thread t = new Thread(worker::run, "worker-under-test");
        t.setDaemon(true);
        t.start();
        return worker;
    }

    /** Stores the images as a job, as {@code imgscale upload} does: images, manifest, then one request each. */
    static String upload(Stack s, Map<String, byte[]> images) {
        String job = JobId.next(Instant.now());
        for (Map.Entry<String, byte[]> e : images.entrySet()) {
            s.input.put(Keys.input(job, e.getKey()), e.getValue(), "application/octet-stream");
        }
        JobManifest manifest = JobManifest.v1(job, System.currentTimeMillis(), "test",
                new ArrayList<>(images.keySet()));
        s.output.put(Keys.manifest(job), Json.bytes(manifest), "application/json");
        List<String> bodies = new ArrayList<>();
        for (String name : images.keySet()) {
            bodies.add(Json.write(ImageRequest.of(job, name, System.currentTimeMillis())));
        }
        s.requests.send(bodies);
        return job;
    }

    static Map<String, byte[]> developmentImages(Collection<String> names) throws IOException {
        Map<String, byte[]> images = new TreeMap<>();
        for (String name : names) {
            images.put(name, Files.readAllBytes(TestAssets.images().resolve(name)));
        }
        return images;
    }

    /** The job's rows by name, each name in one row of the batch objects. */
    static Map<String, ResultRecord> results(Stack s, String job) {
        Map<String, ResultRecord> out = new TreeMap<>();
        for (ResultRecord r : StoredResults.rows(s.output, job)) {
            assertNull(out.put(r.name(), r), "one row for " + r.name());
        }
        for (String key : s.output.list(Keys.resultPrefix(job))) {
            assertTrue(ResultBatch.counts(job, key).isPresent(), "a batch object: " + key);
        }
        return out;
    }

    /** The notices on the results queue: one per object written. */
    static List<ResultBatch.Notice> drainEvents(Stack s) {
        List<ResultBatch.Notice> events = new ArrayList<>();
        while (true) {
            List<QueueMessage> batch = s.results.receive(10, Duration.ZERO, Duration.ofSeconds(30));
            if (batch.isEmpty()) {
                return events;
            }
            for (QueueMessage m : batch) {
                events.add(Json.read(m.body(), ResultBatch.Notice.class));
            }
        }
    }

    /** The request bodies with their sentAt removed, for comparing with what the test sent. */
    static Set<String> stripSentAt(Set<String> bodies) {
        Set<String> out = new HashSet<>();
        for (String b : bodies) {
            out.add(b.replaceAll(",\"sentAt\":\\d+", ""));
        }
        return out;
    }

    static void awaitState(Worker worker, WorkerState state) throws InterruptedException {
        await(Duration.ofSeconds(10), () -> worker.state() == state, () -> "state " + worker.state());
    }

    static void await(Duration timeout, BooleanSupplier condition, Supplier<String> evidence) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout.toSeconds() + " s: " + evidence.get());
            }
            Thread.sleep(20);
        }
    }

    /** A result queue whose sends wait until the test opens the gate. */
    static final class GatedQueue extends ForwardingQueue {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch open = new CountDownLatch(1);

        GatedQueue(WorkQueue delegate) {
            super(delegate);
        }

        @Override
        public void send(List<String> bodies) {
            entered.countDown();
            try {
                if (!open.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never opened the gate");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            super.send(bodies);
        }
    }

    /** A request queue that logs each deleted request as {@code delete job/name}. */
    static final class RecordingQueue extends ForwardingQueue {
        final List<String> log;
        final List<String> deleted = java.util.Collections.synchronizedList(new ArrayList<>());

        RecordingQueue(WorkQueue delegate, List<String> log) {
            super(delegate);
            this.log = log;
        }

        @Override
        public void delete(Collection<QueueMessage> messages) {
            super.delete(messages);
            for (QueueMessage m : messages) {
                ImageRequest r = Json.read(m.body(), ImageRequest.class);
                log.add("delete " + r.job() + "/" + r.name());
                deleted.add(r.name());
            }
        }
    }

    /** An output bucket that logs each object written as {@code put key}. */
    static final class RecordingStore extends GatedStore {
        final List<String> log;

        RecordingStore(ObjectStore delegate, List<String> log) {
            super(delegate);
            this.log = log;
            open.countDown();
        }

        @Override
        public void put(String key, byte[] data, String contentType) {
            super.put(key, data, contentType);
            log.add("put " + key);
        }
    }

    static class ForwardingQueue implements WorkQueue {
        final WorkQueue delegate;

        ForwardingQueue(WorkQueue delegate) {
            this.delegate = delegate;
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public void send(List<String> bodies) {
            delegate.send(bodies);
        }

        @Override
        public List<QueueMessage> receive(int max, Duration wait, Duration visibility) {
            return delegate.receive(max, wait, visibility);
        }

        @Override
        public void extendVisibility(Collection<QueueMessage> messages, Duration visibility) {
            delegate.extendVisibility(messages, visibility);
        }

        @Override
        public void delete(Collection<QueueMessage> messages) {
            delegate.delete(messages);
        }

        @Override
        public QueueDepth depth() {
            return delegate.depth();
        }

        @Override
        public void purge() {
            delegate.purge();
        }
    }

    /** An input bucket whose first download waits until the test opens the gate. */
    static class GatedStore implements ObjectStore {
        final ObjectStore delegate;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch open = new CountDownLatch(1);

        GatedStore(ObjectStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public void put(String key, byte[] data, String contentType) {
            delegate.put(key, data, contentType);
        }

        @Override
        public void put(String key, Path file, String contentType) {
            delegate.put(key, file, contentType);
        }

        @Override
        public Optional<byte[]> get(String key) {
            return delegate.get(key);
        }

        @Override
        public Optional<byte[]> get(String key, long maxBytes) {
            entered.countDown();
            try {
                if (!open.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never opened the gate");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            return delegate.get(key, maxBytes);
        }

        @Override
        public boolean exists(String key) {
            return delegate.exists(key);
        }

        @Override
        public List<String> list(String prefix) {
            return delegate.list(prefix);
        }

        @Override
        public void delete(Collection<String> keys) {
            delegate.delete(keys);
        }
    }
}
