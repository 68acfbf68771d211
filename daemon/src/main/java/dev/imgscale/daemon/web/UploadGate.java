package dev.imgscale.daemon.web;

import io.undertow.util.StatusCodes;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which upload bodies are read now. Each client address gets {@link UploadPolicy#perClient()} at
 * once; its further uploads wait in arrival order (holding a connection, no thread, no buffer), and
 * one waiting longer than the idle timeout is refused 429. A body being read that the
 * {@link UploadPolicy} finds too slow is refused 408. {@link #sweep()} applies both rules at the
 * clock's time; the server calls it every {@link #SWEEP_MS} ms, tests whenever they advance a fake clock.
 */
final class UploadGate {
    static final long SWEEP_MS = 250;

    /** One upload as the gate sees it. */
    interface Upload {
        /** The client's address: the limit is per address. */
        String client();

        /** A slot is its: begin reading (called on whichever thread freed the slot; must not block). */
        void start();

        /** Answer now with this status and message, store nothing, and end with {@link #done}. */
        void refuse(int status, String message);
    }

    /** An upload admitted to the gate: waiting, then read, then done. */
    static final class Ticket {
        final Upload upload;
        final long arrivedAt;
        private long startedAt = -1;
        private volatile long lastByteAt;
        private volatile long bytes;
        private boolean done;

        private Ticket(Upload upload, long arrivedAt) {
            this.upload = upload;
            this.arrivedAt = arrivedAt;
        }
    }

    private final UploadPolicy policy;
    private final Clock clock;
    private final Map<String, Integer> active = new HashMap<>();
    private final Map<String, Deque<Ticket>> waiting = new HashMap<>();
    private final Set<Ticket> reading = new LinkedHashSet<>();
    private long timedOut;
    private long turnedAway;

    UploadGate(UploadPolicy policy, Clock clock) {
        this.policy = policy;
        this.clock = clock;
    }

    /** The upload's ticket, before it is admitted (so the upload holds it before it can start). */
    Ticket ticket(Upload upload) {
        return new Ticket(upload, clock.millis());
    }

    /** Admits the upload: starts it now if its client has a free slot, else it waits for one. */
    void admit(Ticket ticket) {
        Upload upload = ticket.upload;
        boolean start;
        synchronized (this) {
            if (ticket.done) {
                return;
            }
            int n = active.getOrDefault(upload.client(), 0);
            start = n < policy.perClient();
            if (start) {
                begin(ticket);
            } else {
                waiting.computeIfAbsent(upload.client(), c -> new ArrayDeque<>()).add(ticket);
            }
        }
        if (start) {
            upload.start();
        }
    }

    /** Bytes of the body came (called by the thread reading it). */
    void received(Ticket ticket, long n) {
        ticket.bytes += n;
        ticket.lastByteAt = clock.millis();
    }

    /** The upload is over, however it ended: its slot goes to its client's next waiting upload. */
    void done(Ticket ticket) {
        if (ticket == null) {
            return;
        }
        Ticket next = null;
        synchronized (this) {
            if (ticket.done) {
                return;
            }
            ticket.done = true;
            String client = ticket.upload.client();
            if (reading.remove(ticket)) {
                Deque<Ticket> queue = waiting.get(client);
                next = queue == null ? null : queue.poll();
                if (queue != null && queue.isEmpty()) {
                    waiting.remove(client);
                }
                if (next != null) {
                    reading.add(next);
                    next.startedAt = clock.millis();
                    next.lastByteAt = next.startedAt;
                } else if (active.merge(client, -1, Integer::sum) <= 0) {
                    active.remove(client);
                }
            } else {
                Deque<Ticket> queue = waiting.get(client);
                if (queue != null && queue.remove(ticket) && queue.isEmpty()) {
                    waiting.remove(client);
                }
            }
        }
        if (next != null) {
            next.upload.start();
        }
    }

    /** Refuses the bodies that are too slow (408) and the uploads that waited too long for a slot (429). */
    void sweep() {
        long now = clock.millis();
        List<Ticket> slow = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        List<Ticket> stale = new ArrayList<>();
        synchronized (this) {
            for (Ticket t : reading) {
                String reason = policy.tooSlow(t.startedAt, t.lastByteAt, t.bytes, now);
                if (reason != null) {
                    slow.add(t);
                    reasons.add(reason);
                }
            }
            for (Deque<Ticket> queue : waiting.values()) {
                for (Ticket t : queue) {
                    if (now - t.arrivedAt >= policy.idleTimeout().toMillis()) {
                        stale.add(t);
                    }
                }
            }
            timedOut += slow.size();
            turnedAway += stale.size();
        }
        for (int i = 0; i < slow.size(); i++) {
            slow.get(i).upload.refuse(StatusCodes.REQUEST_TIME_OUT, reasons.get(i));
            done(slow.get(i));
        }
        for (Ticket t : stale) {
            t.upload.refuse(StatusCodes.TOO_MANY_REQUESTS, "This address has " + policy.perClient() + " uploads under way"
                    + " (--uploads-per-client) and this one waited " + policy.idleTimeout().toSeconds()
                    + " s for its turn; send it again when one has finished.");
            done(t);
        }
    }

    private void begin(Ticket ticket) {
        active.merge(ticket.upload.client(), 1, Integer::sum);
        reading.add(ticket);
        ticket.startedAt = clock.millis();
        ticket.lastByteAt = ticket.startedAt;
    }

    /** Bodies being read now. */
    synchronized int reading() {
        return reading.size();
    }

    /** Uploads waiting for a slot now. */
    synchronized int waiting() {
        return waiting.values().stream().mapToInt(Deque::size).sum();
    }

    /** Bodies refused 408 so far. */
    synchronized long timedOut() {
        return timedOut;
    }

    /** Uploads refused 429 after waiting for a slot. */
    synchronized long turnedAway() {
        return turnedAway;
    }
}
