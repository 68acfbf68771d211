package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.testing.FakeClassifier;
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
import dev.imgscale.daemon.worker.InterruptionWatcher.Kind;
import dev.imgscale.daemon.worker.InterruptionWatcher.Notice;
import dev.imgscale.daemon.worker.stage.BatchStage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The worker's reaction to EC2's notices, in fake time (as {@link WorkerTest}): the notice is
 * handed to the worker as the {@link InterruptionWatcher} would, at a chosen moment of a batch.
 *
 * <p>The set-up of most tests: a first job of ten measures the worker's time per image (5 s per
 * inference of ten: 500 ms per image); then a second job of 25 leaves the worker with ten being
 * classified, ten received early and waiting at the hand-off, and five still in the queue.
 */
@Timeout(60)
class WorkerInterruptionTest extends WorkerFakeTimeFixture {
    final InMemoryWorkQueue requests = new InMemoryWorkQueue("requests", time);

    Worker start() {
        Worker worker = run(new Worker(classifier, requests, results, input, output, time, options(), 2));
        time.awaitSleepers(1);
        return worker;
    }

    String upload(int n) {
        String job = JobId.next(time.instant());
        List<String> names = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = "img" + (100 + i) + ".jpg";
            names.add(name);
            input.put(Keys.input(job, name), FakeClassifier.image("label-" + i), "application/octet-stream");
            bodies.add(Json.write(ImageRequest.of(job, name, time.millis())));
        }
        output.put(Keys.manifest(job), Json.bytes(JobManifest.v1(job, time.millis(), "test", names)),
                "application/json");
        requests.send(bodies);
        return job;
    }

    Set<String> answered(String job) {
        return new TreeSet<>(StoredResults.byName(output, job).keySet());
    }

    /** A first job measures 500 ms per image; then 10 are being classified, 10 wait at the hand-off, 5 are queued. */
    Worker busyWithMeasuredSpeed() {
        classifier.inferenceTakes(Duration.ofSeconds(5));
        Worker worker = start();
        upload(10);
        until(() -> worker.pipeline().equals(Map.of(BatchStage.CLASSIFYING, 10)), () -> "stages " + worker.pipeline());
        time.awaitSleepers(2);
        time.advanceSettling(Duration.ofSeconds(5), Duration.ofSeconds(1), 1);
        until(() -> worker.processed() == 10 && worker.inHand() == 0, () -> worker.processed() + " processed");
        assertEquals(500.0, worker.msPerImage(), 0.001, "ten images in 5 s");
        return worker;
    }

    void awaitTwoBatchesHeld(Worker worker) {
        until(() -> worker.pipeline().equals(Map.of(BatchStage.CLASSIFYING, 10, BatchStage.PREPARED, 10)),
                () -> "stages " + worker.pipeline());
        time.awaitSleepers(1);
    }

    Notice interruptionIn(Duration d) {
        return new Notice(Kind.SPOT_INTERRUPTION, "terminate", time.instant().plus(d));
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void should_keep_the_batch_that_fits_and_hand_back_the_rest_at_once_when_a_spot_interruption_is_announced() throws Exception {
        Worker worker = busyWithMeasuredSpeed();
        long start = time.elapsedMillis();
        String job = upload(25);
        awaitTwoBatchesHeld(worker);

        // 18 s left, 10 s of them the margin: 8 s fit the batch being classified (5 s), not the next one too
        worker.noticed(interruptionIn(Duration.ofSeconds(18)));
        assertEquals(WorkerState.INTERRUPTED, worker.state());
        assertEquals(10, worker.handedBack());
        assertEquals(Map.of(BatchStage.CLASSIFYING, 10), worker.pipeline());
        assertEquals(new QueueDepth(15, 10, 0), requests.depth(), "the batch received early is visible again at once");

        // another worker takes them now, without waiting out any visibility
        List<QueueMessage> taken = new ArrayList<>(requests.receive(10, Duration.ZERO, Duration.ofSeconds(30)));
        taken.addAll(requests.receive(10, Duration.ZERO, Duration.ofSeconds(30)));
        assertEquals(15, taken.size());
        assertEquals(10, taken.stream().filter(m -> m.receiveCount() == 2).count(), "the ten handed back, each received once before");
        assertEquals(start, time.elapsedMillis(), "no time passed");

        // the batch being classified is finished; nothing more is received, and nothing handed back is touched
        time.advance(Duration.ofSeconds(5));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker did not stop");
        assertEquals(WorkerState.STOPPED, worker.state());
        assertEquals(20, worker.processed());
        assertEquals(30, worker.received(), "nothing received after the notice");
        assertEquals(10, answered(job).size());
        assertEquals(new QueueDepth(0, 15, 0), requests.depth(), "the 15 others held by the other worker, none deleted");
        requests.delete(taken);
        assertEquals(new QueueDepth(0, 0, 0), requests.depth(), "the other worker's receipts are still the latest");
    }

    @Test
    void should_hand_back_even_the_batch_being_classified_when_it_cannot_finish_before_the_deadline() throws Exception {
        Worker worker = busyWithMeasuredSpeed();
        String job = upload(25);
        awaitTwoBatchesHeld(worker);
        long heartbeatsBefore = requests.extendCalls();

        // 12 s left: 2 s after the margin, less than one batch (5 s)
        worker.noticed(interruptionIn(Duration.ofSeconds(12)));
        assertEquals(20, worker.handedBack());
        assertEquals(new QueueDepth(25, 0, 0), requests.depth());
        assertEquals(heartbeatsBefore + 2, requests.extendCalls(), "one visibility-0 call per batch");

        // its inference still ends, but its results are neither written nor its requests deleted
        time.advance(Duration.ofSeconds(5));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker did not stop");
        assertEquals(10, worker.processed());
        assertEquals(Set.of(), answered(job));
        assertEquals(1, results.bodies().size(), "only the first job's results published (one object)");
        assertEquals(new QueueDepth(25, 0, 0), requests.depth());
        assertEquals(heartbeatsBefore + 2, requests.extendCalls(), "no heartbeat after the hand-back");
    }

    @Test
    void should_keep_only_what_is_being_classified_when_no_time_per_image_was_measured_yet() throws Exception {
        classifier.inferenceTakes(Duration.ofSeconds(5));
        Worker worker = start();
        String job = upload(15);
        until(() -> worker.pipeline().equals(Map.of(BatchStage.CLASSIFYING, 10, BatchStage.PREPARED, 5)),
                () -> "stages " + worker.pipeline());
        time.awaitSleepers(1);

        worker.noticed(interruptionIn(Duration.ofMinutes(2)));
        assertEquals(5, worker.handedBack());
        assertEquals(new QueueDepth(5, 10, 0), requests.depth());
        time.advance(Duration.ofSeconds(5));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker did not stop");
        assertEquals(10, answered(job).size());
        assertEquals(new QueueDepth(5, 0, 0), requests.depth());
    }

    @Test
    void should_treat_a_rebalance_recommendation_as_a_drain_finishing_everything_in_hand() throws Exception {
        Worker worker = busyWithMeasuredSpeed();
        String job = upload(25);
        awaitTwoBatchesHeld(worker);

        worker.noticed(new Notice(Kind.REBALANCE_RECOMMENDATION, "rebalance", time.instant()));
        assertEquals(WorkerState.DRAINING, worker.state());
        assertEquals(0, worker.handedBack());
        time.advance(Duration.ofSeconds(5));
        until(() -> worker.processed() == 20, () -> worker.processed() + " processed");
        time.awaitSleepers(1); // the batch received early, now being classified
        time.advance(Duration.ofSeconds(5));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker did not stop");
        assertEquals(20, answered(job).size());
        assertEquals(new QueueDepth(5, 0, 0), requests.depth(), "the five never received stay for others");
    }

    @Test
    void should_publish_each_answered_image_once_when_a_second_worker_takes_what_was_handed_back() throws Exception {
        Worker first = busyWithMeasuredSpeed();
        String job = upload(25);
        awaitTwoBatchesHeld(first);
        first.noticed(interruptionIn(Duration.ofSeconds(18)));
        time.advance(Duration.ofSeconds(5));
        assertTrue(first.awaitShutdown(Duration.ofSeconds(10)), "the first worker did not stop");

        classifier.inferenceTakes(Duration.ZERO);
        Worker second = start();
        until(() -> second.processed() == 15, () -> second.processed() + " processed by the second");
        assertEquals(25, answered(job).size());
        Map<String, Integer> written = new HashMap<>();
        for (ResultRecord r : StoredResults.rows(output, job)) {
            written.merge(r.name(), 1, Integer::sum);
        }
        assertEquals(25, written.size());
        assertTrue(written.values().stream().allMatch(n -> n == 1), "one row each: " + written);
        int announced = 0;
        for (String body : results.bodies()) {
            ResultBatch.Notice n = Json.read(body, ResultBatch.Notice.class);
            announced += n.job().equals(job) ? n.images() : 0;
        }
        assertEquals(25, announced, "the notices name each image once, in their objects' counts");
        assertEquals(new QueueDepth(0, 0, 0), requests.depth());
    }
}
