package dev.imgscale.daemon.worker.stage;

import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.time.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One receive's requests as they go through the pipeline, with the heartbeat that keeps them
 * invisible to other workers meanwhile. Its items are touched by one stage at a time (the
 * hand-offs order those accesses); its stage is read by the worker's reports.
 */
public final class Batch {
    /** Passed down the hand-offs after the last batch: the stage that takes it passes it on and ends. */
    static final Batch END = new Batch(List.of(), 0);

    final List<QueueMessage> messages;
    final List<Item> items = new ArrayList<>();
    final long receivedNanos;
    volatile BatchStage stage = BatchStage.PREPARING;
    long preparedNanos;
    long classifyNanos;
    long decodedNanos;
    long classifiedNanos;
    long finishNanos;
    long storedNanos;
    long announcedNanos;
    long deletedNanos;
    private volatile Scheduler.Task heartbeat;
    private WorkQueue queue;
    private Duration visibility;
    /** Guarded by this: once true, no extension starts, and none is under way. */
    private boolean heartbeatStopped;
    /** Guarded by this (with the move to FINISHING): given back to the queue; no stage works on it any more. */
    private boolean handedBack;

    Batch(List<QueueMessage> messages, long receivedNanos) {
        this.messages = messages;
        this.receivedNanos = receivedNanos;
    }

    public BatchStage stage() {
        return stage;
    }

    public int size() {
        return messages.size();
    }

    /**
     * Marks the batch handed back, unless the finish stage has taken it (then it is
     * finished, never both). Atomic with {@link #startFinishing()}: a batch is either deleted by
     * this worker or given back to another, never both.
     */
    synchronized boolean handBack() {
        if (stage.compareTo(BatchStage.BUFFERED) >= 0) {
            return false;
        }
        handedBack = true;
        return true;
    }

    synchronized boolean handedBack() {
        return handedBack;
    }

    /** The finish stage takes the batch: BUFFERED, unless it was handed back (then false: skip it). */
    synchronized boolean startFinishing() {
        if (handedBack) {
            return false;
        }
        stage = BatchStage.BUFFERED;
        return true;
    }

    /** Every {@code every} from now, extends the visibility of every request of the batch by {@code visibility}. */
    void startHeartbeat(Scheduler scheduler, WorkQueue queue, Duration visibility, Duration every) {
        this.queue = queue;
        this.visibility = visibility;
        Duration beat = every.toMillis() < 1 ? Duration.ofMillis(1) : every;
        heartbeat = scheduler.scheduleWithFixedDelay(this::extend, beat, beat);
    }

    /** The heartbeat: keeps every request of the batch invisible for another visibility timeout. */
    synchronized void extend() {
        if (heartbeatStopped) {
            return;
        }
        try {
            queue.extendVisibility(messages, visibility);
            WorkerLog.LOG.debug("Extended the visibility of {} request(s) ({}) by {} s", messages.size(), stage, visibility.toSeconds());
        } catch (RuntimeException e) {
            // Keep beating: the next extension may get through before the visibility expires.
            WorkerLog.LOG.warn("Could not extend the visibility of {} request(s) in hand: {}", messages.size(), e.toString());
        }
    }

    /** After this no extension starts, and none is under way: the requests may be deleted (or come back). */
    void stopHeartbeat() {
        synchronized (this) {
            heartbeatStopped = true;
        }
        Scheduler.Task beat = heartbeat;
        if (beat != null) {
            beat.cancel();
        }
    }
}
