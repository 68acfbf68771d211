package dev.imgscale.daemon.worker;

import dev.imgscale.daemon.port.WorkerBoard;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkRequest;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Clock;
import java.time.Duration;
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
    private final Time time;
    private final long startedAt;
    private final AtomicBoolean draining = new AtomicBoolean();
    private final Scheduler timer;

    public WorkerBeacon(Worker worker, WorkerBoard board, String id, Clock clock) {
        this(worker, board, id, Time.of(clock));
    }

    /** A beacon whose reports are stamped, and run, in the given time. */
    public WorkerBeacon(Worker worker, WorkerBoard board, String id, Time time) {
        this.worker = worker;
        this.board = board;
        this.id = id;
        this.time = time;
        this.startedAt = time.millis();
        this.timer = time.scheduler("imgscale-worker-beacon");
    }

    /** Reports once now, then every {@code every}, checking for a drain request each time. */
    public void start(Duration every) {
        report(null);
        timer.scheduleWithFixedDelay(this::beat, every, every);
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

    private void report(WorkerState override) {
        WorkerState state = worker.state();
        WorkerState reported = override != null ? override
                : draining.get() && state != WorkerState.STOPPED && state != WorkerState.INTERRUPTED ? WorkerState.DRAINING : state;
        board.report(new WorkerStatus(WorkerStatus.VERSION, id, reported, worker.inHand(), worker.processed(), worker.msPerImage(),
                startedAt, worker.inHand() == 0 ? Math.max(worker.idleSince(), startedAt) : 0, time.millis(), WorkRequest.VERSION));
    }

    /** Stops reporting; the last report says STOPPED (the worker holds nothing any more). */
    @Override
    public void close() {
        timer.close();
        try {
            timer.awaitClosed(Duration.ofSeconds(5));
            report(WorkerState.STOPPED);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("Cannot send the last report: {}", e.toString());
        }
    }
}
