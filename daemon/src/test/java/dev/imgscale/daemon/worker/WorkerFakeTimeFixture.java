package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.testing.FakeClassifier;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.testing.InMemoryWorkQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;

/**
 * The fixture of the tests that run a real {@link Worker} in fake time against the in-memory twins:
 * the clock, the results queue, the input and output buckets and a fake classifier (each test class
 * makes the requests queue it needs), and the workers under test, each on a thread of its own and
 * all stopped after the test.
 */
abstract class WorkerFakeTimeFixture {
    static final String MODEL = "fake-model";

    final FakeTime time = new FakeTime();
    final InMemoryWorkQueue results = new InMemoryWorkQueue("results", time);
    final InMemoryObjectStore input = new InMemoryObjectStore("input");
    final InMemoryObjectStore output = new InMemoryObjectStore("output");
    final FakeClassifier classifier = new FakeClassifier(time, 1, 1, 1000);
    private final List<Worker> running = new ArrayList<>();

    @AfterEach
    void stopWorkers() throws InterruptedException {
        for (Worker w : running) {
            w.beginShutdown();
            classifier.inferenceTakes(Duration.ZERO);
            for (int i = 0; i < 100 && !w.awaitShutdown(Duration.ofMillis(50)); i++) {
                time.advance(Duration.ofSeconds(30)); // whatever it waits for in fake time
            }
            assertTrue(w.awaitShutdown(Duration.ofSeconds(5)), "a worker did not stop");
        }
    }

    /** Ten requests per 1 s poll, 3 s visibility (a heartbeat every second), no idle exit. */
    static WorkerOptions options() {
        return new WorkerOptions(10, Duration.ofSeconds(1), Duration.ofSeconds(3), 4, null, "test-worker", MODEL);
    }

    /** Runs the worker on a thread of its own; it is stopped after the test. */
    Worker run(Worker worker) {
        running.add(worker);
        Thread t = new Thread(worker::run, "worker-under-test");
        t.setDaemon(true);
        t.start();
        return worker;
    }

    /** Waits in real time (bounded) for the worker's threads to reach the condition. */
    static void until(BooleanSupplier condition, Supplier<String> evidence) {
        FakeTime.awaitReal(condition, evidence);
    }
}
