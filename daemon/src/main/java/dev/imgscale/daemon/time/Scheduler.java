package dev.imgscale.daemon.time;

import java.time.Duration;

/**
 * Runs periodic tasks in a {@link Time}: on a thread of its own in system time, on the thread that
 * advances a fake time as it passes each task's due time (as Kafka's MockScheduler does), so a
 * test sees a heartbeat run exactly when it is due. A task that throws is not run again.
 */
public interface Scheduler extends AutoCloseable {
    /** Runs the task after {@code initialDelay}, then {@code delay} after each run ends. */
    Task scheduleWithFixedDelay(Runnable task, Duration initialDelay, Duration delay);

    /** Runs the task after {@code initialDelay}, then every {@code period} from that first start. */
    Task scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period);

    /** Cancels every task; a run under way is interrupted (system time) or finishes (fake time). */
    @Override
    void close();

    /** A scheduled task. */
    interface Task {
        /** No run starts after this; a run under way goes on. */
        void cancel();
    }
}
