package dev.imgscale.daemon.worker;

import dev.imgscale.daemon.port.WorkerBoard;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's voice to the controller: reports the worker's state every few seconds (its first
 * report before the first receive, so a worker the controller sees as booting holds nothing),
 * and when the controller asks it to drain, begins the worker's shutdown: it finishes what it
 * holds, stops, and its last report says STOPPED, the confirmation the controller waits for
 * before terminating it.
 */
public final class WorkerBeacon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerBeacon.class);

    private final Worker worker;
    private final WorkerBoard board;
    private final String id;
    private final Clock clock;
    private final long startedAt;
    private final AtomicBoolean draining = new AtomicBoolean();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "imgscale-worker-beacon");
        t.setDaemon(true);
        return t;
    });

    public WorkerBeacon(Worker worker, WorkerBoard board, String id, Clock clock) {
        this.worker = worker;
        this.board = board;
        this.id = id;
        this.clock = clock;
        this.startedAt = clock.millis();
    }

    /** Reports once now, then every {@code every}, checking for a drain request each time. */
    public void start(Duration every) {
        report(null);
        timer.scheduleWithFixedDelay(this::beat, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void beat() {
        try {
            if (!draining.get() && board.drainRequested(id)) {
                draining.set(true);
                LOG.info("The controller asked worker {} to drain: finishing what it holds, then stopping", id);
                worker.beginShutdown();
            }
            report(null);
        } catch (RuntimeException e) {
            // a missed report only makes the controller wait; the next one may get through
            LOG.warn("Cannot report to the fleet board: {}", e.toString());
        }
    }

    private void report(String override) {
        Worker.State state = worker.state();
        String name = override != null ? override : draining.get() && state != Worker.State.STOPPED ? WorkerStatus.DRAINING : state.name();
        board.report(new WorkerStatus(WorkerStatus.VERSION, id, name, worker.inHand(), worker.processed(), worker.msPerImage(),
                startedAt, worker.inHand() == 0 ? Math.max(worker.idleSince(), startedAt) : 0, clock.millis()));
    }

    /** Stops reporting; the last report says STOPPED (the worker holds nothing any more). */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
            report(WorkerStatus.STOPPED);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("Cannot send the last report: {}", e.toString());
        }
    }
}
