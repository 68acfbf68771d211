package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.testing.FakeClassifier;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.testing.InMemoryWorkQueue;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The beacon in fake time: a report at start and every interval, a drain request obeyed at the next beat, STOPPED last. */
@Timeout(60)
class WorkerBeaconTest {
    final FakeTime time = new FakeTime();
    final InMemoryObjectStore output = new InMemoryObjectStore("output");
    final ObjectStoreWorkerBoard board = new ObjectStoreWorkerBoard(output);
    final Worker worker = new Worker(new FakeClassifier(time), new InMemoryWorkQueue("requests", time), new InMemoryWorkQueue("results", time),
            new InMemoryObjectStore("input"), output, time,
            new WorkerOptions(10, Duration.ofSeconds(1), Duration.ofSeconds(30), 2, null, "w-1", "fake-model"), 2);

    WorkerStatus status() {
        return board.statuses().get("w-1");
    }

    @Test
    void should_report_every_interval_and_drain_the_worker_when_the_controller_asks() throws Exception {
        long t0 = time.millis();
        WorkerBeacon beacon = new WorkerBeacon(worker, board, "w-1", time);
        beacon.start(Duration.ofSeconds(5));
        assertEquals(WorkerState.STARTING, status().state(), "the first report comes before the first receive");
        assertEquals(t0, status().updatedAt());

        Thread t = new Thread(worker::run, "worker-under-test");
        t.setDaemon(true);
        t.start();
        time.awaitSleepers(1);
        time.advanceSettling(Duration.ofSeconds(5), Duration.ofSeconds(1), 1);
        assertEquals(WorkerState.POLLING, status().state());
        assertEquals(t0 + 5000, status().updatedAt());
        assertEquals(t0, status().startedAt());
        assertEquals(t0, status().idleSince());

        board.requestDrain("w-1");
        time.advanceSettling(Duration.ofSeconds(4), Duration.ofSeconds(1), 1);
        assertEquals(WorkerState.POLLING, worker.state(), "the request is seen at the next beat, not before");
        time.advance(Duration.ofSeconds(1));
        assertTrue(worker.awaitShutdown(Duration.ofSeconds(10)), "the worker did not drain");
        assertEquals(10_000, time.elapsedMillis());
        beacon.close();
        assertEquals(WorkerState.STOPPED, status().state(), "the last report says STOPPED");
        assertTrue(status().stopped());
    }
}
