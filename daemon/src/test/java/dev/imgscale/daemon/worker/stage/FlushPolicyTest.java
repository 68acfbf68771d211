package dev.imgscale.daemon.worker.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.testing.FakeTime;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When the finish stage writes what it holds: by size, by age in the clock's time, when nothing else is in hand, when stopping. */
class FlushPolicyTest {
    final FakeTime time = new FakeTime();
    final FlushPolicy policy = new FlushPolicy(100, Duration.ofSeconds(5));

    @Test
    void should_flush_once_the_size_is_reached_and_not_before() {
        long since = time.millis();
        assertFalse(policy.due(90, since, time.millis(), false, false));
        assertFalse(policy.due(99, since, time.millis(), false, false));
        assertTrue(policy.due(100, since, time.millis(), false, false));
        assertTrue(policy.due(105, since, time.millis(), false, false), "a receive of ten may take it past the size");
    }

    @Test
    void should_flush_when_the_oldest_has_waited_the_interval_by_the_clock() {
        long since = time.millis();
        time.advance(Duration.ofMillis(4_999));
        assertFalse(policy.due(10, since, time.millis(), false, false));
        assertEquals(1, policy.pause(10, since, time.millis()), "look again in a millisecond");
        time.advance(Duration.ofMillis(1));
        assertTrue(policy.due(10, since, time.millis(), false, false));
    }

    @Test
    void should_flush_at_once_when_stopping_or_when_nothing_else_is_in_hand() {
        long since = time.millis();
        assertTrue(policy.due(1, since, time.millis(), true, false), "drain, SIGTERM, idle exit, Spot notice");
        assertTrue(policy.due(1, since, time.millis(), false, true), "the pipeline is empty behind it");
    }

    @Test
    void should_never_flush_nothing() {
        assertFalse(policy.due(0, 0, Long.MAX_VALUE, true, true));
        assertEquals(FlushPolicy.MAX_PAUSE_MS, policy.pause(0, 0, time.millis()));
    }

    @Test
    void should_look_at_the_clock_at_least_every_200_ms() {
        assertEquals(FlushPolicy.MAX_PAUSE_MS, policy.pause(10, time.millis(), time.millis()));
    }

    @Test
    void should_refuse_an_empty_flush_size() {
        assertThrows(IllegalArgumentException.class, () -> new FlushPolicy(0, Duration.ofSeconds(5)));
        assertThrows(IllegalArgumentException.class, () -> new FlushPolicy(10, Duration.ofSeconds(-1)));
    }
}
