package dev.imgscale.daemon.worker;

import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.WorkerUsage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the worker's {@link WorkerUsage} record: written when the worker starts, every
 * {@link #EVERY}, and when it stops. A minute apart, because the record only bounds when the
 * worker was last alive (a worker killed -9 is counted until its last record, up to a minute
 * short) and one PUT a minute is $0.0003 an hour against an instance's $0.03-0.10.
 */
public final class UsageRecorder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UsageRecorder.class);
    public static final Duration EVERY = Duration.ofMinutes(1);

    private final Worker worker;
    private final ObjectStore output;
    private final String id;
    private final InstanceFacts facts;
    private final RequestLedger requests;
    private final Time time;
    private final long startedAt;
    private final Scheduler timer;

    public UsageRecorder(Worker worker, ObjectStore output, String id, InstanceFacts facts, RequestLedger requests, Time time) {
        this.worker = worker;
        this.output = output;
        this.id = id;
        this.facts = facts;
        this.requests = requests;
        this.time = time;
        this.startedAt = time.millis();
        this.timer = time.scheduler("imgscale-worker-usage");
    }

    public void start() {
        write();
        timer.scheduleWithFixedDelay(this::write, EVERY, EVERY);
    }

    /** The record as of now. */
    WorkerUsage snapshot() {
        Map<String, Long> byOperation = new LinkedHashMap<>();
        RequestCounts counts = requests.snapshot();
        counts.byOperation().forEach((k, v) -> byOperation.put(k.toString(), v));
        return new WorkerUsage(WorkerUsage.VERSION, id, facts.instanceType(), facts.market(), startedAt, time.millis(),
                worker.processed(), worker.busyMs(), worker.usageByJob(), byOperation);
    }

    private void write() {
        try {
            WorkerUsage usage = snapshot();
            output.put(usage.key(), Json.bytes(usage), "application/json");
        } catch (RuntimeException e) {
            // a missed record only makes a job's cost a little short; the next one has it all
            LOG.warn("Cannot write the usage record: {}", e.toString());
        }
    }

    @Override
    public void close() {
        timer.close();
        try {
            timer.awaitClosed(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        write();
    }
}
