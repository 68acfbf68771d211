package dev.imgscale.daemon.testing;

import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.time.Time;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A {@link Time} that stands still until the test advances it, modelled on Kafka's
 * {@code MockTime}/{@code MockScheduler}: {@link #advance} moves the time forward, running each
 * scheduled task on the advancing thread exactly at its due time (as if running took no time) and
 * waking every thread whose {@link #waitOn} deadline has passed.
 *
 * <p>The code under test still runs on its own threads; what makes a test deterministic is
 * {@link #awaitSleepers}: it returns once that many threads wait in this time for a deadline that
 * has not come, i.e. once the code has done everything it can do before the time moves. A typical
 * test: start the code, {@code awaitSleepers(1)}, assert, {@code advance(...)}, {@code awaitSleepers(1)},
 * assert. Those waits are bounded in real time only as a guard against a hung test.
 */
public final class FakeTime implements Time {
    /** Where every fake time starts: a fixed instant, so that results are the same on every run. */
    public static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration SETTLE_GUARD = Duration.ofSeconds(20);

    private final Object lock = new Object();
    private volatile long now;
    private final long startMillis;
    /** Guarded by lock. */
    private final List<Sleeper> sleepers = new ArrayList<>();
    /** Guarded by lock. */
    private final PriorityQueue<Scheduled> tasks = new PriorityQueue<>();
    private long sequence;

    public FakeTime() {
        this(START);
    }

    public FakeTime(Instant start) {
        this.now = start.toEpochMilli();
        this.startMillis = now;
    }

    @Override
    public long millis() {
        return now;
    }

    @Override
    public long nanos() {
        return (now - startMillis) * 1_000_000L;
    }

    /** The time as an instant. */
    public Instant instant() {
        return Instant.ofEpochMilli(now);
    }

    /** Milliseconds since this time started. */
    public long elapsedMillis() {
        return now - startMillis;
    }

    @Override
    public void waitOn(Object monitor, long deadlineMillis) throws InterruptedException {
        if (!Thread.holdsLock(monitor)) {
            throw new IllegalMonitorStateException("waitOn needs the monitor held");
        }
        Sleeper me = new Sleeper(monitor, deadlineMillis, Thread.currentThread());
        synchronized (lock) {
            if (now >= deadlineMillis) {
                return;
            }
            sleepers.add(me);
        }
        try {
            // We hold the monitor from before registering until wait() releases it, so a notify
            // from advance() (which takes the monitor) cannot fall between the check and the wait.
            monitor.wait();
        } finally {
            synchronized (lock) {
                sleepers.remove(me);
                lock.notifyAll();
            }
        }
    }

    @Override
    public Scheduler scheduler(String threadName) {
        return new FakeScheduler();
    }

    /**
     * Moves the time forward by {@code d}: to each scheduled task's due time in turn, running the
     * task there on this thread, then to the end, waking the sleepers whose deadline has passed.
     */
    public void advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("time only moves forward: " + d);
        }
        long target = now + d.toMillis();
        while (true) {
            Scheduled due;
            synchronized (lock) {
                Scheduled next = tasks.peek();
                if (next == null || next.due > target) {
                    setNow(target);
                    break;
                }
                tasks.poll();
                if (next.cancelled) {
                    continue;
                }
                setNow(Math.max(now, next.due));
                due = next;
            }
            wakeDueSleepers();
            boolean ok = false;
            try {
                due.task.run();
                ok = true;
            } finally {
                synchronized (lock) {
                    if (ok && !due.cancelled && due.period > 0) {
                        due.due = due.fixedRate ? due.due + due.period : now + due.period;
                        due.seq = sequence++;
                        tasks.add(due);
                    }
                }
            }
        }
        wakeDueSleepers();
    }

    /** Advances in steps of {@code step} up to {@code total}, letting the code settle ({@link #awaitSleepers}) after each. */
    public void advanceSettling(Duration total, Duration step, int sleepers) {
        long left = total.toMillis();
        while (left > 0) {
            long s = Math.min(left, step.toMillis());
            advance(Duration.ofMillis(s));
            left -= s;
            awaitSleepers(sleepers);
        }
    }

    /** Threads waiting in this time for a deadline still to come. */
    public int sleepers() {
        synchronized (lock) {
            int n = 0;
            for (Sleeper s : sleepers) {
                if (s.deadline > now) {
                    n++;
                }
            }
            return n;
        }
    }

    /** Scheduled tasks not cancelled. */
    public int scheduledTasks() {
        synchronized (lock) {
            return (int) tasks.stream().filter(t -> !t.cancelled).count();
        }
    }

    /**
     * Waits (in real time, at most 20 s, else fails) until at least {@code n} threads wait in this
     * time for a deadline still to come: the code under test can do nothing more until the time moves.
     */
    public void awaitSleepers(int n) {
        awaitReal(() -> sleepers() >= n, () -> n + " sleeper(s) expected, " + sleepers() + " at " + elapsedMillis() + " ms");
    }

    /**
     * Waits in real time (at most 20 s, else {@link AssertionError}) until the condition holds: for
     * events that take no fake time, e.g. a thread that has yet to reach its next wait.
     */
    public static void awaitReal(BooleanSupplier condition, Supplier<String> evidence) {
        long deadline = System.nanoTime() + SETTLE_GUARD.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within " + SETTLE_GUARD.toSeconds() + " s of real time: " + evidence.get());
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    private void setNow(long millis) {
        now = Math.max(now, millis);
    }

    private void wakeDueSleepers() {
        List<Object> monitors = new ArrayList<>();
        synchronized (lock) {
            for (Sleeper s : sleepers) {
                if (s.deadline <= now) {
                    monitors.add(s.monitor);
                }
            }
        }
        for (Object m : monitors) {
            synchronized (m) {
                m.notifyAll();
            }
        }
    }

    @Override
    public String toString() {
        return "FakeTime[" + instant() + ", +" + elapsedMillis() + " ms]";
    }

    private record Sleeper(Object monitor, long deadline, Thread thread) {
    }

    private static final class Scheduled implements Comparable<Scheduled>, Scheduler.Task {
        final Runnable task;
        final long period;
        final boolean fixedRate;
        long due;
        long seq;
        volatile boolean cancelled;

        Scheduled(Runnable task, long due, long period, boolean fixedRate, long seq) {
            this.task = task;
            this.due = due;
            this.period = period;
            this.fixedRate = fixedRate;
            this.seq = seq;
        }

        @Override
        public int compareTo(Scheduled o) {
            return due != o.due ? Long.compare(due, o.due) : Long.compare(seq, o.seq);
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    private final class FakeScheduler implements Scheduler {
        private final List<Scheduled> mine = new ArrayList<>();
        private boolean closed;

        @Override
        public Task scheduleWithFixedDelay(Runnable task, Duration initialDelay, Duration delay) {
            return add(task, initialDelay, delay, false);
        }

        @Override
        public Task scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
            return add(task, initialDelay, period, true);
        }

        private Task add(Runnable task, Duration initialDelay, Duration period, boolean fixedRate) {
            synchronized (lock) {
                if (closed) {
                    throw new IllegalStateException("scheduler closed");
                }
                Scheduled s = new Scheduled(task, now + initialDelay.toMillis(), Math.max(1, period.toMillis()), fixedRate, sequence++);
                tasks.add(s);
                mine.add(s);
                return s;
            }
        }

        @Override
        public void close() {
            synchronized (lock) {
                closed = true;
                mine.forEach(Scheduled::cancel);
                tasks.removeIf(t -> t.cancelled);
            }
        }
    }
}
