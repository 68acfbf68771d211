package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.port.ControllerLease;
import dev.imgscale.daemon.time.Time;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller daemon's loop: while it holds the lease, one {@link Controller#tick()} every
 * interval; otherwise it waits for the lease. Shutdown is begin/wait. Stopping the controller
 * leaves the fleet as it is: workers go on, and a new controller takes over from the fleet's
 * record (and the workers' own idle exit ends them if none does). The interval is waited in the
 * {@link Time} given (fake in unit tests).
 */
public final class ControllerLoop implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(ControllerLoop.class);

    /** The loop's state, for logs and tests. */
    public enum State {
        STARTING, WAITING_FOR_LEASE, RUNNING, STOPPED
    }

    private final Controller controller;
    private final ControllerLease lease;
    private final Duration interval;
    private final Time time;
    private final AtomicReference<State> state = new AtomicReference<>(State.STARTING);
    /** Guarded by this: the stop was requested. */
    private boolean stopRequested;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private String lastReason = "";

    public ControllerLoop(Controller controller, ControllerLease lease, Duration interval) {
        this(controller, lease, interval, Time.system());
    }

    public ControllerLoop(Controller controller, ControllerLease lease, Duration interval, Time time) {
        this.controller = controller;
        this.lease = lease;
        this.interval = interval;
        this.time = time;
    }

    public State state() {
        return state.get();
    }

    @Override
    public void run() {
        try {
            while (!stopRequested()) {
                if (!lease.acquire()) {
                    if (state.getAndSet(State.WAITING_FOR_LEASE) != State.WAITING_FOR_LEASE) {
                        LOG.info("Another controller holds the lease for this fleet; waiting");
                    }
                } else {
                    if (state.getAndSet(State.RUNNING) != State.RUNNING) {
                        LOG.info("Holding the lease: controlling the fleet (policy {})", controller.policy().name());
                    }
                    try {
                        Controller.Tick tick = controller.tick();
                        String reason = tick.decision().reason();
                        if (tick.decision().changesAnything() || !reason.equals(lastReason)) {
                            LOG.info("{} workers, queue {}+{}: {}", tick.snapshot().count(), tick.snapshot().visible(),
                                    tick.snapshot().inFlight(), reason);
                            lastReason = reason;
                        }
                    } catch (RuntimeException e) {
                        // S3, SQS or EC2 unreachable for a moment: nothing is decided from half a view
                        LOG.warn("Tick failed, trying again next tick: {}", e.toString());
                    }
                }
                awaitInterval();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lease.close();
            state.set(State.STOPPED);
            LOG.info("Controller stopped; the fleet goes on as it is");
            stopped.countDown();
        }
    }

    /** Waits one interval in the loop's time, returning early when the stop is requested. */
    private synchronized void awaitInterval() throws InterruptedException {
        long deadline = time.millis() + interval.toMillis();
        while (!stopRequested && time.millis() < deadline) {
            time.waitOn(this, deadline);
        }
    }

    private synchronized boolean stopRequested() {
        return stopRequested;
    }

    public synchronized void beginShutdown() {
        stopRequested = true;
        notifyAll();
    }

    public boolean awaitShutdown(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
