package dev.imgscale.daemon.controller;

import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Over the last half minute: images per second arriving (finished, from the workers' counters, plus
 * the backlog's growth: a burst being worked off arrives at 0/s) and finished. Kept in memory only,
 * for the policy's estimate of the stream, never for safety.
 */
final class ArrivalRate {
    private static final Duration WINDOW = Duration.ofSeconds(30);

    /** Images per second arriving and finished. */
    record Rates(double arriving, double finished) {
    }

    private record Sample(Instant at, long finished, long backlog) {
    }

    private final Deque<Sample> samples = new ArrayDeque<>();
    private Map<String, Long> lastProcessed = new HashMap<>();
    private long finishedTotal;

    /** Takes this tick's reports and backlog into account and returns the rates over the window. */
    Rates update(Map<String, WorkerStatus> statuses, long backlog, Instant now) {
        Map<String, Long> processed = new HashMap<>();
        for (WorkerStatus s : statuses.values()) {
            processed.put(s.id(), s.processed());
            Long before = lastProcessed.get(s.id());
            finishedTotal += Math.max(0, s.processed() - (before == null ? 0 : before));
        }
        lastProcessed = processed;
        samples.addLast(new Sample(now, finishedTotal, backlog));
        while (samples.size() > 1 && Duration.between(samples.peekFirst().at(), now).compareTo(WINDOW) > 0) {
            samples.removeFirst();
        }
        Sample first = samples.peekFirst();
        double seconds = Duration.between(first.at(), now).toMillis() / 1000.0;
        if (seconds < 1) {
            return new Rates(0, 0);
        }
        long done = finishedTotal - first.finished();
        return new Rates(Math.max(0, (done + backlog - first.backlog()) / seconds), done / seconds);
    }
}
