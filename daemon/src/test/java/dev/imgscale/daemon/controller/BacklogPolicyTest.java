package dev.imgscale.daemon.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.wire.WorkerState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BacklogPolicyTest {
    static final Instant NOW = Instant.parse("2026-11-24T00:00:00Z");
    final BacklogPolicy policy = BacklogPolicy.defaults();

    static FleetSnapshot snapshot(long visible, long inFlight, List<WorkerView> workers, double arrivalRate, int cap) {
        return new FleetSnapshot(NOW, visible, inFlight, workers, Duration.ofMillis(300), Duration.ofSeconds(25), arrivalRate, arrivalRate, Duration.ZERO, cap);
    }

    static WorkerView worker(String id, WorkerState phase, int inHand, int launchedSecondsAgo, Integer idleSecondsAgo) {
        return new WorkerView(id, phase, inHand, NOW.minusSeconds(launchedSecondsAgo),
                idleSecondsAgo == null ? null : NOW.minusSeconds(idleSecondsAgo));
    }

    static List<WorkerView> many(int n, WorkerState phase, int inHand) {
        List<WorkerView> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(worker("w" + i, phase, inHand, 120, phase == WorkerState.POLLING ? 30 : null));
        }
        return out;
    }

    @Test
    void should_launch_workers_for_a_burst_from_zero_and_never_past_the_cap() {
        Decision d = policy.decide(snapshot(416, 0, List.of(), 0, 19));
        assertEquals(19, d.launch(), d.reason());
        Decision small = policy.decide(snapshot(416, 0, List.of(), 0, 4));
        assertEquals(4, small.launch(), small.reason());
        Decision nearCap = policy.decide(snapshot(5000, 0, many(18, WorkerState.WORKING, 10), 0, 19));
        assertEquals(1, nearCap.launch(), nearCap.reason());
    }

    @Test
    void should_launch_only_as_many_as_the_target_latency_needs() {
        // 40 images at 0.3 s: one worker booting now finishes them 25 + 12 s from now, two in 25 + 6 s
        Decision d = policy.decide(snapshot(40, 0, List.of(), 0, 19));
        assertTrue(d.launch() >= 2 && d.launch() < 19, d.launch() + ": " + d.reason());
    }

    @Test
    void should_not_launch_when_the_running_workers_finish_before_a_new_one_could_boot() {
        Decision d = policy.decide(snapshot(20, 30, many(3, WorkerState.WORKING, 10), 0, 19));
        assertEquals(0, d.launch(), d.reason());
    }

    @Test
    void should_bring_back_draining_workers_before_launching_new_ones() {
        List<WorkerView> workers = List.of(worker("a", WorkerState.DRAINING, 0, 100, null), worker("b", WorkerState.DRAINING, 2, 100, null));
        Decision d = policy.decide(snapshot(200, 0, workers, 0, 19));
        assertEquals(List.of("a", "b"), d.cancelDrain(), d.reason());
        assertEquals(0, d.launch(), "two drained-back workers finish 200 images in 30 s: " + d.reason());
    }

    @Test
    void should_drain_idle_workers_once_the_queue_is_empty_and_terminate_only_drained_or_lost_ones() {
        List<WorkerView> workers = new ArrayList<>(many(3, WorkerState.POLLING, 0));
        workers.add(worker("done", WorkerState.STOPPED, 0, 200, null));
        workers.add(worker("gone", WorkerState.LOST, 4, 200, null));
        Decision d = policy.decide(snapshot(0, 0, workers, 0, 19));
        assertEquals(List.of("w0", "w1", "w2").size(), d.drain().size(), d.reason());
        assertEquals(List.of("done", "gone"), d.terminate(), d.reason());
        assertEquals(0, d.launch());
    }

    @Test
    void should_never_drain_or_terminate_a_busy_worker() {
        List<WorkerView> workers = new ArrayList<>(many(5, WorkerState.WORKING, 3));
        for (long backlog : new long[] {0, 1, 15, 1000}) {
            Decision d = policy.decide(snapshot(0, backlog, workers, 0, 19));
            assertTrue(d.drain().isEmpty() && d.terminate().isEmpty() && d.kill().isEmpty(), d.toString());
        }
    }

    @Test
    void should_keep_the_workers_a_steady_stream_needs_through_a_momentarily_empty_queue() {
        // 5 images/s at 0.3 s each needs 2 workers; they were idle a fraction of a second ago
        List<WorkerView> workers = List.of(worker("a", WorkerState.POLLING, 0, 300, 0), worker("b", WorkerState.POLLING, 0, 300, 0));
        Decision d = policy.decide(snapshot(0, 0, workers, 5.0, 19));
        assertTrue(d.drain().isEmpty() && d.terminate().isEmpty(), d.reason());
    }

    @Test
    void should_drain_the_idle_surplus_only_after_it_has_been_idle_a_while() {
        List<WorkerView> workers = new ArrayList<>(many(2, WorkerState.WORKING, 5));
        workers.add(worker("fresh", WorkerState.POLLING, 0, 300, 1));
        workers.add(worker("stale", WorkerState.POLLING, 0, 300, 60));
        Decision d = policy.decide(snapshot(0, 10, workers, 0, 19));
        assertEquals(List.of("stale"), d.drain(), d.reason());
    }

    @Test
    void should_drain_every_worker_once_all_have_idled_a_few_gaps_after_a_burst() {
        // 10 images/s were being finished; everyone idle for 2 s is 20 gaps: the work is over
        List<WorkerView> workers = List.of(worker("a", WorkerState.POLLING, 0, 300, 2), worker("b", WorkerState.POLLING, 0, 300, 2));
        FleetSnapshot s = new FleetSnapshot(NOW, 0, 0, workers, Duration.ofMillis(300), Duration.ofSeconds(25), 0, 10.0, Duration.ZERO, 19);
        assertEquals(2, policy.decide(s).drain().size(), policy.decide(s).reason());
    }

    @Test
    void should_decide_the_same_for_the_same_snapshot() {
        FleetSnapshot s = snapshot(300, 20, many(4, WorkerState.WORKING, 5), 3.0, 19);
        assertEquals(policy.decide(s), BacklogPolicy.defaults().decide(s));
    }
}
