package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.testing.FakeClassifier;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.testing.InMemoryWorkQueue;
import dev.imgscale.daemon.testing.StoredResults;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultBatch;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.worker.stage.BatchStage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The worker's logic in fake time, against the in-memory queue and store and a fake classifier:
 * no S3, SQS or model, and every timing rule (idle exit, heartbeat, back-off, long poll) asserted
 * at its exact time. {@link WorkerIT} proves the same behaviours against the embedded S3 and SQS
 * and a real model.
 *
 * <p>How a test reads: the worker runs on its own threads; {@link FakeTime#awaitSleepers} waits
 * until they can do nothing more before the time moves; the test then asserts and advances.
 */
@Timeout(60)
class WorkerTest extends WorkerFakeTimeFixture {
    static final int MAX_RECEIVES = 3;

    final InMemoryWorkQueue deadLetters = new InMemoryWorkQueue("requests-dlq", time);
    final InMemoryWorkQueue requests = new InMemoryWorkQueue("requests", time, deadLetters, MAX_RECEIVES);

    Worker start(WorkerOptions options) {
        // 2 processors and one single-threaded stream: images are decoded in the receive stage
        return run(new Worker(classifier, requests, results, input, output, time, options, 2));
    }

    /** Stores the images as a job, as {@code imgscale upload} does: images, manifest, then one request each. */
    String upload(Map<String, byte[]> images) {
        String job = JobId.next(time.instant());
        for (Map.Entry<String, byte[]> e : images.entrySet()) {
            input.put(Keys.input(job, e.getKey()), e.getValue(), "application/octet-stream");
        }
        output.put(Keys.manifest(job), Json.bytes(JobManifest.v1(job, time.millis(), "test",
                new ArrayList<>(images.keySet()))), "application/json");
        List<String> bodies = new ArrayList<>();
        for (String name : images.keySet()) {
            bodies.add(Json.write(ImageRequest.of(job, name, time.millis())));
        }
        requests.send(bodies);
        return job;
    }

    static Map<String, byte[]> labelled(int n) {
        Map<String, byte[]> images = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            images.put("img" + (100 + i) + ".jpg", FakeClassifier.image("label-" + i));
        }
        return images;
    }

    /** The job's results by name, each name in exactly one row of the batch objects written. */
    Map<String, ResultRecord> results(String job) {
        List<ResultRecord> rows = StoredResults.rows(output, job);
        Map<String, ResultRecord> out = new TreeMap<>();
        for (ResultRecord r : rows) {
            assertNull(out.put(r.name(), r), "one row for " + r.name());
            assertEquals(job, r.job());
        }
        for (String key : output.list(Keys.resultPrefix(job))) {
            assertTrue(ResultBatch.counts(job, key).isPresent(), "a batch object: " + key);
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void should_label_each_image_write_its_batch_object_and_only_then_delete_the_requests() {
        List<String> atDelete = new CopyOnWriteArrayList<>();
        requests.inject(InMemoryWorkQueue.Op.DELETE, handles -> {
            // what had been written and published when the deletes began
            atDelete.add(handles.size() + " deleted, " + output.list(Keys.RESULTS).size() + " written, " + results.bodies().size()
                    + " published");
            return null;
        });
        Worker worker = start(options());
        time.awaitSleepers(1);
        assertEquals(WorkerState.POLLING, worker.state());

        String job = upload(labelled(5));
        until(() -> worker.processed() == 5 && worker.inHand() == 0, () -> worker.processed() + " processed");

        Map<String, ResultRecord> written = results(job);
        assertEquals(labelled(5).keySet(), written.keySet());
        for (int i = 0; i < 5; i++) {
            ResultRecord r = written.get("img" + (100 + i) + ".jpg");
            assertEquals("label-" + i, r.label());
            assertEquals(5, r.top().size());
            assertEquals(MODEL, r.model());
            assertEquals("test-worker", r.worker());
            assertEquals(1, r.receives());
            assertEquals(0L, r.latencyMs(), "no fake time passed between upload and result");
        }
        assertEquals(List.of("5 deleted, 1 written, 1 published"), atDelete, "one object and its notice, then the deletes");
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
        assertEquals(List.of(ResultBatch.key(job, "test-worker", FakeTime.START.toEpochMilli(), 1, new ResultBatch.Counts(5, 0, 0))),
                output.list(Keys.resultPrefix(job)), "worker id made fit for a key, its start and first flush, the counts");
        assertEquals(1, results.bodies().size(), "one notice per object, not per image");
        ResultBatch.Notice notice = Json.read(results.bodies().get(0), ResultBatch.Notice.class);
        assertEquals(new ResultBatch.Notice(2, job, output.list(Keys.resultPrefix(job)).get(0), 5, 0), notice);
        assertEquals(List.of(5), classifier.passes(), "one inference for the batch");
        assertEquals(1, worker.batches());
        assertEquals(0, worker.left());
        assertEquals(WorkerState.POLLING, worker.state());
    }

    @Test
    void should_turn_bad_images_and_requests_into_error_results_without_losing_their_neighbours() {
        Map<String, byte[]> images = new LinkedHashMap<>();
        images.put("good.jpg", FakeClassifier.image("macaw"));
        images.put("corrupt.jpg", FakeClassifier.rejected(ErrorCode.CORRUPT));
        images.put("text.jpg", "not an image".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        images.put("huge.jpg", new byte[1001]);
        images.put("crash.jpg", FakeClassifier.crashing());
        images.put("also-good.jpg", FakeClassifier.image("dragonfly"));
        String job = upload(images);
        requests.send(List.of(Json.write(ImageRequest.of(job, "ghost.jpg", time.millis())),
                "{\"v\":1,\"job\":\"" + job + "\",\"name\":\"odd.jpg\",\"sentAt\":\"yesterday\"}",
                "this is not a request"));
        Worker worker = start(options());
        until(() -> worker.batches() == 1 && worker.inHand() == 0, () -> worker.batches() + " batches");

        Map<String, ResultRecord> r = results(job);
        assertEquals("macaw", r.get("good.jpg").label());
        assertEquals("dragonfly", r.get("also-good.jpg").label());
        assertEquals("CORRUPT", r.get("corrupt.jpg").error());
        assertEquals("CORRUPT", r.get("text.jpg").error());
        assertEquals("TOO_LARGE", r.get("huge.jpg").error());
        assertEquals("the image has 1001 bytes, over the 1000-byte limit", r.get("huge.jpg").message());
        assertEquals(Worker.MISSING, r.get("ghost.jpg").error());
        assertEquals("the image " + Keys.input(job, "ghost.jpg") + " is not in bucket input", r.get("ghost.jpg").message());
        assertEquals(Worker.MALFORMED, r.get("odd.jpg").error());
        assertTrue(r.get("odd.jpg").message().startsWith("the request could not be read: "), r.get("odd.jpg").message());
        assertNull(r.get("corrupt.jpg").label());
        assertFalse(r.containsKey("crash.jpg"), "a decoder that crashed is not the image's fault: retried, no result");
        assertEquals(7, worker.processed());
        assertEquals(5, worker.failed());
        assertEquals(2, worker.left(), "the crash and the message that is no request");
        assertEquals(new QueueDepth(0, 2, 0), requests.depth(), "the two left wait out their visibility");
        assertEquals(1, results.bodies().size());
        assertTrue(output.list(Keys.resultPrefix(job)).get(0).endsWith("-n7-e5-r0.jsonl"), "seven rows, five errors, in the key");
    }

    @Test
    void should_stop_exactly_at_the_idle_exit_counted_from_the_last_work() {
        Worker worker = start(options().withIdleExit(Duration.ofSeconds(2)));
        time.awaitSleepers(1);
        time.advance(Duration.ofMillis(500));
        String job = upload(labelled(1)); // work at 0.5 s: the idle exit counts from here
        until(() -> worker.processed() == 1 && worker.inHand() == 0, () -> "not processed");
        time.awaitSleepers(1);

        time.advanceSettling(Duration.ofMillis(1999), Duration.ofMillis(250), 1);
        assertEquals(WorkerState.POLLING, worker.state(), "still polling at " + time.elapsedMillis() + " ms");
        time.advance(Duration.ofMillis(1));
        until(() -> worker.state() == WorkerState.STOPPED, () -> "still " + worker.state() + " at " + time.elapsedMillis() + " ms");
        assertEquals(2500, time.elapsedMillis(), "2 s after the last work");
        assertEquals(1, results(job).size());
    }

    @Test
    void should_stop_at_the_idle_exit_without_any_request() throws Exception {
        Worker worker = start(options().withIdleExit(Duration.ofSeconds(2)));
        time.awaitSleepers(1);
        time.advanceSettling(Duration.ofMillis(1999), Duration.ofMillis(500), 1);
        assertFalse(worker.awaitShutdown(Duration.ZERO), "stopped before the idle exit");
        time.advance(Duration.ofMillis(1));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)));
        assertEquals(WorkerState.STOPPED, worker.state());
        assertEquals(2000, time.elapsedMillis());
        assertEquals(0, worker.batches());
    }

    @Test
    void should_keep_a_slow_batch_invisible_with_the_heartbeat_and_stop_it_before_the_delete() {
        classifier.inferenceTakes(Duration.ofMillis(9500)); // more than three visibility timeouts
        Worker worker = start(options());
        time.awaitSleepers(1);
        String job = upload(labelled(1));
        time.awaitSleepers(2); // the inference, and the receive stage polling for the next batch
        assertEquals(Map.of(BatchStage.CLASSIFYING, 1), worker.pipeline());
        assertEquals(WorkerState.WORKING, worker.state());

        for (int step = 1; step <= 18; step++) { // to 9 s, in half seconds
            time.advance(Duration.ofMillis(500));
            time.awaitSleepers(2);
            assertEquals(new QueueDepth(0, 1, 0), requests.depth(), "request queue at " + time.elapsedMillis() + " ms");
        }
        assertEquals(9, requests.extendCalls(), "one extension a second (a third of the visibility)");
        time.advance(Duration.ofMillis(500));
        until(() -> worker.processed() == 1 && worker.inHand() == 0, () -> "not processed");
        assertEquals(1, results(job).get("img100.jpg").receives());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
        time.advanceSettling(Duration.ofSeconds(5), Duration.ofSeconds(1), 1);
        assertEquals(9, requests.extendCalls(), "the heartbeat stopped with the batch");
    }

    @Test
    void should_finish_every_batch_in_hand_when_shutdown_begins_then_stop() throws Exception {
        classifier.inferenceTakes(Duration.ofSeconds(5));
        Worker worker = start(options());
        time.awaitSleepers(1);
        String job = upload(labelled(15));
        // ten being classified, five received early for the next round and waiting at the hand-off
        until(() -> worker.pipeline().equals(Map.of(BatchStage.CLASSIFYING, 10, BatchStage.PREPARED, 5)),
                () -> "stages " + worker.pipeline());
        time.awaitSleepers(1);

        worker.beginShutdown();
        assertEquals(WorkerState.DRAINING, worker.state());
        time.advanceSettling(Duration.ofSeconds(4), Duration.ofSeconds(1), 1);
        assertEquals(new QueueDepth(0, 15, 0), requests.depth(), "both batches kept invisible by their heartbeats");
        time.advance(Duration.ofSeconds(1));
        until(() -> worker.processed() == 10, () -> worker.processed() + " processed");
        time.awaitSleepers(1);
        time.advance(Duration.ofSeconds(5));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker did not stop");
        assertEquals(WorkerState.STOPPED, worker.state());
        assertEquals(15, worker.received(), "nothing received after shutdown began");
        assertEquals(15, worker.processed());
        assertEquals(0, worker.left());
        assertEquals(15, results(job).size());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
        assertEquals(10_000, time.elapsedMillis());
    }

    @Test
    void should_stop_at_once_when_shutdown_begins_during_a_long_poll_and_give_back_what_it_brings() throws Exception {
        Worker worker = start(options().withPollWait(Duration.ofSeconds(20)));
        time.awaitSleepers(1);
        assertEquals(1, requests.waitingReceivers());
        worker.beginShutdown();
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker waited out its long poll");
        assertEquals(0, time.elapsedMillis(), "stopped without waiting out the poll");
        assertEquals(WorkerState.STOPPED, worker.state());

        // The abandoned poll is still open at the queue: a request arriving now is received by it,
        // and must be made visible again rather than held for the visibility timeout.
        String job = upload(labelled(1));
        until(() -> requests.waitingReceivers() == 0 && requests.depth().equals(new QueueDepth(1, 0, 0)),
                () -> "request queue " + requests.depth() + ", " + requests.waitingReceivers() + " polling");
        List<QueueMessage> again = requests.receive(10, Duration.ZERO, Duration.ofSeconds(30));
        assertEquals(2, again.get(0).receiveCount(), "received once by the abandoned poll");
        assertEquals(List.of(), output.list(Keys.resultPrefix(job)));
    }

    @Test
    void should_back_off_doubling_while_the_queue_cannot_be_reached_then_carry_on() {
        requests.inject(InMemoryWorkQueue.Op.RECEIVE, x -> new ImgscaleException("Unable to execute HTTP request (test)"));
        Worker worker = start(options());
        time.awaitSleepers(1);
        List<Long> calls = new ArrayList<>();
        for (long at : new long[] {999, 1000, 2999, 3000, 6999, 7000}) {
            time.advance(Duration.ofMillis(at - time.elapsedMillis()));
            time.awaitSleepers(1);
            calls.add(requests.receiveCalls());
        }
        assertEquals(List.of(1L, 2L, 2L, 3L, 3L, 4L), calls, "receives at 0, 1, 3 and 7 s: a back-off of 1, 2, then 4 s");

        requests.inject(InMemoryWorkQueue.Op.RECEIVE, null);
        String job = upload(labelled(1));
        time.advance(Duration.ofSeconds(8));
        until(() -> worker.processed() == 1, () -> "not processed after the queue came back");
        assertEquals(1, results(job).size());
    }

    @Test
    void should_leave_a_request_whose_image_cannot_be_downloaded_and_answer_it_when_it_comes_back() {
        input.inject(InMemoryObjectStore.Op.GET, key -> new ImgscaleException("S3 is down (test)"));
        Worker worker = start(options());
        time.awaitSleepers(1);
        String job = upload(labelled(1));
        until(() -> worker.left() == 1 && worker.inHand() == 0, () -> "left " + worker.left());
        time.awaitSleepers(1);
        assertEquals(new QueueDepth(0, 1, 0), requests.depth(), "left alone: invisible until its visibility times out");
        assertEquals(List.of(), output.list(Keys.resultPrefix(job)));

        input.inject(InMemoryObjectStore.Op.GET, null);
        time.advanceSettling(Duration.ofMillis(2999), Duration.ofMillis(500), 1);
        assertEquals(0, worker.processed(), "not before the visibility timeout");
        time.advance(Duration.ofMillis(1));
        until(() -> worker.processed() == 1, () -> "not answered when it came back");
        assertEquals(2, results(job).get("img100.jpg").receives());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
    }

    @Test
    void should_leave_requests_whose_inference_or_results_object_fails_and_delete_only_after_the_write() {
        classifier.failInference(new IllegalStateException("engine failed (test)"));
        Worker worker = start(options());
        time.awaitSleepers(1);
        String job = upload(labelled(2));
        until(() -> worker.left() == 2 && worker.inHand() == 0, () -> "left " + worker.left());
        assertEquals(List.of(), output.list(Keys.resultPrefix(job)));

        classifier.failInference(null);
        output.inject(InMemoryObjectStore.Op.PUT, key -> new ImgscaleException("S3 is down (test)"));
        time.advance(Duration.ofSeconds(3));
        until(() -> worker.left() == 4 && worker.inHand() == 0, () -> "left " + worker.left());
        assertEquals(List.of(), output.list(Keys.resultPrefix(job)));
        assertEquals(new QueueDepth(0, 2, 0), requests.depth(), "the object was not written: nothing deleted, both come back");
        assertEquals(0, worker.processed());

        // a notice that cannot be sent is not a reason to answer the images again: the object is the result
        output.inject(InMemoryObjectStore.Op.PUT, null);
        results.inject(InMemoryWorkQueue.Op.SEND, x -> new ImgscaleException("SQS is down (test)"));
        time.advance(Duration.ofSeconds(3));
        until(() -> worker.processed() == 2 && worker.inHand() == 0, () -> worker.processed() + " processed");
        assertEquals(2, results(job).size());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
        assertEquals(4, worker.left());
    }

    @Test
    void should_send_a_request_that_keeps_failing_to_the_dead_letter_queue_after_the_maximum_receives() {
        Map<String, byte[]> images = new TreeMap<>(Map.of("crash.jpg", FakeClassifier.crashing(), "fine.jpg",
                FakeClassifier.image("macaw")));
        Worker worker = start(options());
        time.awaitSleepers(1);
        String job = upload(images);
        for (int receive = 1; receive <= MAX_RECEIVES; receive++) {
            int expected = receive;
            until(() -> worker.left() == expected && worker.inHand() == 0, () -> "left " + worker.left());
            time.awaitSleepers(1);
            time.advance(Duration.ofSeconds(3));
        }
        until(() -> deadLetters.depth().visible() == 1, () -> "dead letters " + deadLetters.depth());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
        List<QueueMessage> dead = deadLetters.receive(10, Duration.ZERO, Duration.ofSeconds(30));
        assertEquals(ImageRequest.of(job, "crash.jpg", FakeTime.START.toEpochMilli()), Json.read(dead.get(0).body(), ImageRequest.class));
        assertEquals(Map.of("fine.jpg", "macaw"), Map.of("fine.jpg", results(job).get("fine.jpg").label()));
        assertEquals(1, results(job).size());
        assertEquals(MAX_RECEIVES, worker.left());
    }

    @Test
    void should_write_one_row_for_a_request_sent_twice_into_one_flush() {
        String job = upload(labelled(1));
        requests.send(List.of(requests.bodies().get(0)));
        Worker worker = start(options());
        until(() -> worker.processed() == 2, () -> worker.processed() + " of 2 processed");
        assertEquals(1, output.list(Keys.resultPrefix(job)).size(), "one object");
        assertEquals(1, results(job).size(), "one row: the second request is answered by the first's");
        assertTrue(output.list(Keys.resultPrefix(job)).get(0).endsWith("-n1-e0-r0.jsonl"));
        assertEquals(1, results.bodies().size());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth(), "both requests deleted");
    }

    @Test
    void should_drop_the_requests_of_a_job_that_was_reset() {
        String job = upload(labelled(2));
        output.delete(List.of(Keys.manifest(job)));
        Worker worker = start(options());
        until(() -> worker.cancelled() == 2, () -> "not dropped");
        assertEquals(List.of(), output.list(Keys.resultPrefix(job)));
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
        assertEquals(0, results.bodies().size());
    }

    @Test
    void should_decode_before_each_inference_when_the_engines_take_every_core() {
        FakeClassifier busy = new FakeClassifier(time, 2, 1, 1000);
        Worker worker = new Worker(busy, requests, results, input, output, time, options(), 2);
        assertEquals("overlapped with inference, 1 to 2 at once as measured decode and inference times choose", worker.decoding());
        run(worker);
        String job = upload(labelled(3));
        until(() -> worker.processed() == 3, () -> worker.processed() + " processed");
        assertEquals(3, results(job).size());
        assertEquals(3, busy.decodes());
        assertEquals("1 at once in the receive stage, beside the engine",
                new Worker(classifier, requests, results, input, output, time, options(), 2).decoding());
        // --decode-threads fixes the count
        assertEquals("overlapped with inference, 3 at once (given)",
                new Worker(busy, requests, results, input, output, time, options().withDecodeThreads(3), 2).decoding());
    }

    /** Each image's count of the job's batch objects, in key order (their flush order). */
    List<Integer> objectSizes(String job) {
        List<Integer> sizes = new ArrayList<>();
        for (String key : output.list(Keys.resultPrefix(job))) {
            sizes.add(ResultBatch.counts(job, key).orElseThrow().images());
        }
        return sizes;
    }

    /**
     * Advances a second once the worker can do nothing more until the time moves: nothing being
     * downloaded, the inference (if any) sleeping, and the receive stage either long-polling or
     * waiting to hand on the batch it prepared. (Moving on earlier races the real threads: a batch
     * received but not yet beating could outlive its visibility in a few fake seconds.)
     */
    void nextSecond(Worker worker) {
        until(() -> {
            Map<BatchStage, Integer> stages = worker.pipeline();
            boolean inferring = !stages.containsKey(BatchStage.CLASSIFYING) || classifier.inferring() > 0;
            // one stream: a batch waits at the hand-off only while the classify stage is busy
            boolean receiving = stages.containsKey(BatchStage.PREPARED) ? stages.containsKey(BatchStage.CLASSIFYING)
                    : requests.depth().visible() == 0 && requests.waitingReceivers() > 0;
            return !stages.containsKey(BatchStage.PREPARING) && !stages.containsKey(BatchStage.CLASSIFIED) && inferring && receiving;
        }, () -> "stages " + worker.pipeline() + ", " + classifier.inferring() + " inferring, " + requests.waitingReceivers() + " polling");
        time.advance(Duration.ofSeconds(1));
    }

    @Test
    void should_write_one_object_per_n_images_while_a_backlog_keeps_the_pipeline_full() {
        classifier.inferenceTakes(Duration.ofSeconds(1));
        Worker worker = start(options().withFlush(20, Duration.ofHours(1)));
        time.awaitSleepers(1);
        String job = upload(labelled(50));
        for (int i = 0; i < 10 && worker.processed() < 50; i++) {
            nextSecond(worker);
        }
        until(() -> worker.processed() == 50 && worker.inHand() == 0, () -> worker.processed() + " processed");
        assertEquals(List.of(20, 20, 10), objectSizes(job), "two full flushes, then the last batch when nothing else was in hand");
        assertEquals(50, results(job).size());
        assertEquals(3, results.bodies().size());
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
    }

    @Test
    void should_write_what_waits_once_the_oldest_has_waited_the_flush_interval() {
        classifier.inferenceTakes(Duration.ofSeconds(3));
        Worker worker = start(options().withFlush(1000, Duration.ofSeconds(5)));
        time.awaitSleepers(1);
        String job = upload(labelled(30));
        for (int second = 1; second <= 7; second++) {
            nextSecond(worker);
        }
        // the first batch was classified at 3 s, the second at 6 s: both wait, the third is being classified
        until(() -> worker.pipeline().getOrDefault(BatchStage.BUFFERED, 0) == 20, () -> "stages " + worker.pipeline());
        assertEquals(List.of(), objectSizes(job), "nothing written before 8 s");
        assertEquals(new QueueDepth(0, 30, 0), requests.depth(), "all held, none deleted, kept invisible");
        nextSecond(worker);
        until(() -> objectSizes(job).size() == 1, () -> "no object at " + time.elapsedMillis() + " ms; " + worker.pipeline() + " "
                + requests.depth() + " processed " + worker.processed());
        assertEquals(8_000, time.elapsedMillis());
        assertEquals(List.of(20), objectSizes(job), "5 s after the first was classified");
        until(() -> requests.depth().inFlight() == 10, () -> "deletes after the write: " + requests.depth());
        nextSecond(worker); // the third batch is classified at 9 s
        until(() -> worker.processed() == 30 && worker.inHand() == 0, () -> worker.processed() + " processed");
        assertEquals(9_000, time.elapsedMillis());
        assertEquals(List.of(20, 10), objectSizes(job), "the last at once, at 9 s: nothing else in hand");
    }

    @Test
    void should_write_what_it_holds_at_once_when_a_drain_begins() throws Exception {
        classifier.inferenceTakes(Duration.ofSeconds(1));
        Worker worker = start(options().withFlush(1000, Duration.ofHours(1)));
        time.awaitSleepers(1);
        String job = upload(labelled(30));
        nextSecond(worker);
        until(() -> worker.pipeline().getOrDefault(BatchStage.BUFFERED, 0) == 10, () -> "stages " + worker.pipeline() + ", objects "
                + objectSizes(job) + " at " + time.elapsedMillis() + " ms, " + time.sleepers() + " sleeping");
        assertEquals(List.of(), objectSizes(job), "held: the next batch is in hand");
        // the third poll is taken without time passing, but on the worker's own thread: wait for it,
        // or the drain may begin before it and leave ten in the queue
        until(() -> worker.received() == 30, () -> worker.received() + " received");

        worker.beginShutdown();
        until(() -> objectSizes(job).size() == 1, () -> "nothing written at the drain");
        assertEquals(1_000, time.elapsedMillis(), "at once, not at the next size or interval");
        for (int i = 0; i < 5 && worker.state() != WorkerState.STOPPED; i++) {
            until(() -> time.sleepers() >= 1 || worker.state() == WorkerState.STOPPED, () -> "stages " + worker.pipeline());
            time.advance(Duration.ofSeconds(1));
        }
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker did not stop");
        assertEquals(30, results(job).size(), "everything received finished");
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
    }
}
