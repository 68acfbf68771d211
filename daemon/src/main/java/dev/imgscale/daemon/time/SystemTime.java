package dev.imgscale.daemon.time;

import dev.imgscale.classifier.concurrent.DaemonThreads;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** {@link Time#system()}. */
final class SystemTime implements Time {
    static final SystemTime INSTANCE = new SystemTime();

    private SystemTime() {
    }

    @Override
    public long millis() {
        return System.currentTimeMillis();
    }

    @Override
    public long nanos() {
        return System.nanoTime();
    }

    @Override
    public void waitOn(Object monitor, long deadlineMillis) throws InterruptedException {
        long remaining = deadlineMillis - millis();
        if (remaining > 0) {
            monitor.wait(remaining);
        }
    }

    @Override
    public Scheduler scheduler(String threadName) {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named(threadName));
        return new Scheduler() {
            @Override
            public Task scheduleWithFixedDelay(Runnable task, Duration initialDelay, Duration delay) {
                var f = executor.scheduleWithFixedDelay(task, initialDelay.toMillis(), Math.max(1, delay.toMillis()), TimeUnit.MILLISECONDS);
                return () -> f.cancel(false);
            }

            @Override
            public Task scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
                var f = executor.scheduleAtFixedRate(task, initialDelay.toMillis(), Math.max(1, period.toMillis()), TimeUnit.MILLISECONDS);
                return () -> f.cancel(false);
            }

            @Override
            public void close() {
                executor.shutdownNow();
            }
        };
    }

    @Override
    public String toString() {
        return "Time.system()";
    }
}
