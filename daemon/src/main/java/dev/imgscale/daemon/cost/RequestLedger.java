package dev.imgscale.daemon.cost;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts AWS requests by service and operation as they are sent, from any number of threads.
 * A ledger may have a parent (the process's ledger) that sees every request it sees, so one
 * client factory can be measured on its own while the process still totals everything.
 */
public final class RequestLedger {
    private static final RequestLedger PROCESS = new RequestLedger(null);

    private final RequestLedger parent;
    private final Map<RequestCounts.Key, LongAdder> counts = new ConcurrentHashMap<>();

    private RequestLedger(RequestLedger parent) {
        this.parent = parent;
    }

    /** Every request this process sends through a client that counts. */
    public static RequestLedger process() {
        return PROCESS;
    }

    /** A ledger of its own whose requests also count in the process's ledger. */
    public static RequestLedger child() {
        return new RequestLedger(PROCESS);
    }

    /** A ledger that reports to nobody (tests that must see only their own requests). */
    public static RequestLedger standalone() {
        return new RequestLedger(null);
    }

    /** One request sent (each HTTP attempt counts: a retried request is billed again). */
    public void record(String service, String operation) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(operation, "operation");
        counts.computeIfAbsent(new RequestCounts.Key(service, operation), k -> new LongAdder()).increment();
        if (parent != null) {
            parent.record(service, operation);
        }
    }

    /** The counts so far (a consistent-enough copy: requests sent meanwhile may or may not be in it). */
    public RequestCounts snapshot() {
        RequestCounts.Builder b = RequestCounts.builder();
        counts.forEach((k, v) -> b.add(k, v.sum()));
        return b.build();
    }

    /** Forgets this ledger's counts (not the parent's). */
    public void reset() {
        counts.clear();
    }
}
