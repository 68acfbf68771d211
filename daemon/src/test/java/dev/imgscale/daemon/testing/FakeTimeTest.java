package dev.imgscale.daemon.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.time.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class FakeTimeTest {
    @Test
    void should_stand_still_until_advanced() {
        FakeTime time = new FakeTime();
        long t0 = time.millis();
        assertEquals(FakeTime.START.toEpochMilli(), t0);
        time.advance(Duration.ofMillis(1500));
        assertEquals(t0 + 1500, time.millis());
        assertEquals(1_500_000_000L, time.nanos());
        assertEquals(t0 + 1500, time.clock().millis());
        assertThrows(IllegalArgumentException.class, () -> time.advance(Duration.ofMillis(-1)));
    }

    @Test
    void should_run_each_task_at_its_due_time_on_the_advancing_thread() {
        FakeTime time = new FakeTime();
        List<Long> fixedDelay = new ArrayList<>();
        List<Long> fixedRate = new ArrayList<>();
        Scheduler s = time.scheduler("test");
        Scheduler.Task delayed = s.scheduleWithFixedDelay(() -> fixedDelay.add(time.elapsedMillis()), Duration.ofMillis(100), Duration.ofMillis(300));
        s.scheduleAtFixedRate(() -> fixedRate.add(time.elapsedMillis()), Duration.ZERO, Duration.ofMillis(250));
        time.advance(Duration.ofMillis(1000));
        assertEquals(List.of(100L, 400L, 700L, 1000L), fixedDelay);
        assertEquals(List.of(0L, 250L, 500L, 750L, 1000L), fixedRate);
        assertEquals(1000, time.elapsedMillis());

        delayed.cancel();
        time.advance(Duration.ofMillis(300));
        assertEquals(4, fixedDelay.size(), "a cancelled task does not run");
        s.close();
        time.advance(Duration.ofMillis(1000));
        assertEquals(6, fixedRate.size(), "a closed scheduler runs nothing: " + fixedRate);
        assertEquals(0, time.scheduledTasks());
    }

    @Test
    void should_wake_a_sleeper_only_when_its_deadline_passes() throws Exception {
        FakeTime time = new FakeTime();
        Object monitor = new Object();
        AtomicBoolean woke = new AtomicBoolean();
        long deadline = time.millis() + 2000;
        Thread t = new Thread(() -> {
            synchronized (monitor) {
                try {
                    while (time.millis() < deadline) {
                        time.waitOn(monitor, deadline);
                    }
                    woke.set(true);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        t.start();
        time.awaitSleepers(1);
        time.advance(Duration.ofMillis(1999));
        time.awaitSleepers(1);
        assertFalse(woke.get());
        time.advance(Duration.ofMillis(1));
        t.join(10_000);
        assertTrue(woke.get());
        assertEquals(0, time.sleepers());
    }

    @Test
    void should_not_wait_when_the_deadline_has_passed() throws Exception {
        FakeTime time = new FakeTime();
        Object monitor = new Object();
        synchronized (monitor) {
            time.waitOn(monitor, time.millis());
        }
        assertThrows(IllegalMonitorStateException.class, () -> time.waitOn(monitor, time.millis() + 1));
    }
}
