package dev.imgscale.daemon.time;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * The time a daemon loop reads, waits in and schedules on: the system's in production, a fake one
 * (advanced by the test, {@code dev.imgscale.daemon.testing.FakeTime}) in unit tests, so that
 * heartbeats, long polls, back-offs and idle exits run in milliseconds and assert exact times.
 *
 * <p>Every wait that a timing rule depends on goes through {@link #waitOn}: in fake time a thread
 * in it is a "sleeper" the test can see, and it wakes when the test advances past its deadline.
 * Waits that only hand work between threads (a {@code SynchronousQueue}, a latch) stay as they are.
 */
public interface Time {
    /** Epoch milliseconds. */
    long millis();

    /** A monotonic reading in nanoseconds, for measuring intervals. */
    long nanos();

    /**
     * Like {@code monitor.wait(deadline - now)} in this time: the caller holds {@code monitor}; it
     * returns when the monitor is notified, when the deadline (epoch millis, this time) has passed,
     * or spuriously, so callers re-check their condition in a loop.
     */
    void waitOn(Object monitor, long deadlineMillis) throws InterruptedException;

    /** A scheduler of periodic tasks in this time, its tasks run on a thread of that name (system time). */
    Scheduler scheduler(String threadName);

    /** This time as a {@link Clock} (UTC), for code that takes one. */
    default Clock clock() {
        Time time = this;
        return new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                throw new UnsupportedOperationException("a Time's clock is UTC");
            }

            @Override
            public long millis() {
                return time.millis();
            }

            @Override
            public Instant instant() {
                return Instant.ofEpochMilli(time.millis());
            }
        };
    }

    /** The system's time: {@link System#currentTimeMillis()}, {@link System#nanoTime()}, real waits and threads. */
    static Time system() {
        return SystemTime.INSTANCE;
    }
}
