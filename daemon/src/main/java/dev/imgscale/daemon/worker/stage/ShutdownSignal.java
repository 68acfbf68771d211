package dev.imgscale.daemon.worker.stage;

import dev.imgscale.daemon.time.Time;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The worker's shutdown request: set once, from any thread (a signal handler, the beacon, a stage
 * that was interrupted), seen by every stage; a long poll is raced against it and a back-off cut
 * short by it.
 */
public final class ShutdownSignal {
    private final Time time;
    private final CompletableFuture<Void> requested = new CompletableFuture<>();

    public ShutdownSignal(Time time) {
        this.time = time;
    }

    /** Requests the shutdown; any number of times. */
    public void request() {
        requested.complete(null);
        synchronized (this) {
            notifyAll();
        }
    }

    public boolean requested() {
        return requested.isDone();
    }

    /** Completes when the shutdown is requested. */
    CompletableFuture<Void> future() {
        return requested;
    }

    /** Waits out {@code d} in the worker's time, returning early when shutdown is requested (or this thread interrupted). */
    void pause(Duration d) {
        long deadline = time.millis() + d.toMillis();
        synchronized (this) {
            try {
                while (!requested() && time.millis() < deadline) {
                    time.waitOn(this, deadline);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                request();
            }
        }
    }
}
