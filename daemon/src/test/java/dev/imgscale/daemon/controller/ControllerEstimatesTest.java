package dev.imgscale.daemon.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The controller's in-memory estimates, tick by tick in virtual time: the arrival rate and the quiet gaps. */
class ControllerEstimatesTest {
    private static final Instant T0 = Instant.parse("2026-12-05T12:00:00Z");

    private static WorkerStatus processed(String id, long n) {
        return new WorkerStatus(WorkerStatus.VERSION, id, WorkerState.WORKING, 0, n, 100, 1, 0, 1);
    }

    @Test
    void should_count_finished_images_plus_backlog_growth_as_arriving() {
        ArrivalRate rate = new ArrivalRate();
        assertEquals(new ArrivalRate.Rates(0, 0), rate.update(Map.of("a", processed("a", 0)), 0, T0));
        // 10 s later: a finished 20, b (new) 10, and the backlog grew by 50
        ArrivalRate.Rates r = rate.update(Map.of("a", processed("a", 20), "b", processed("b", 10)), 50, T0.plusSeconds(10));
        assertEquals(3.0, r.finished(), 1e-9);
        assertEquals(8.0, r.arriving(), 1e-9);
    }

    @Test
    void should_see_a_burst_being_worked_off_as_arriving_at_zero() {
        ArrivalRate rate = new ArrivalRate();
        rate.update(Map.of("a", processed("a", 0)), 100, T0);
        ArrivalRate.Rates r = rate.update(Map.of("a", processed("a", 40)), 60, T0.plusSeconds(10));
        assertEquals(0.0, r.arriving(), 1e-9);
        assertEquals(4.0, r.finished(), 1e-9);
    }

    @Test
    void should_forget_samples_older_than_half_a_minute() {
        ArrivalRate rate = new ArrivalRate();
        rate.update(Map.of("a", processed("a", 0)), 0, T0);
        rate.update(Map.of("a", processed("a", 100)), 0, T0.plusSeconds(10));
        // at 35 s the first sample is out of the window: only the 10 s -> 35 s span counts
        ArrivalRate.Rates r = rate.update(Map.of("a", processed("a", 125)), 0, T0.plusSeconds(35));
        assertEquals(1.0, r.finished(), 1e-9);
    }

    @Test
    void should_remember_the_longest_recent_pause_that_work_came_back_from() {
        QuietGaps gaps = new QuietGaps();
        assertEquals(Duration.ZERO, gaps.update(5, T0));
        assertEquals(Duration.ZERO, gaps.update(0, T0.plusSeconds(1)));
        assertEquals(Duration.ZERO, gaps.update(0, T0.plusSeconds(5)), "a pause still under way is not a gap yet");
        assertEquals(Duration.ofSeconds(12), gaps.update(3, T0.plusSeconds(13)));
        assertEquals(Duration.ZERO.plusSeconds(12), gaps.update(0, T0.plusSeconds(20)));
        assertEquals(Duration.ofSeconds(12), gaps.update(1, T0.plusSeconds(25)), "a shorter pause leaves the longest");
    }

    @Test
    void should_not_keep_a_pause_of_a_minute_or_more_and_forget_gaps_after_ten_minutes() {
        QuietGaps gaps = new QuietGaps();
        gaps.update(0, T0);
        assertEquals(Duration.ZERO, gaps.update(1, T0.plusSeconds(60)), "a minute's pause is worth draining through");
        gaps.update(0, T0.plusSeconds(70));
        assertEquals(Duration.ofSeconds(30), gaps.update(1, T0.plusSeconds(100)));
        assertEquals(Duration.ofSeconds(30), gaps.update(1, T0.plusSeconds(100 + 600)));
        assertEquals(Duration.ZERO, gaps.update(1, T0.plusSeconds(100 + 601)));
    }
}
