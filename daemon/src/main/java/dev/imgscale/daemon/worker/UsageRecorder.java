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
 * {@link #BUSY_EVERY} while it finishes images (so that a job's cost is complete a few seconds
 * after its last result), every {@link #EVERY} while idle (the record also says until when the
 * worker was alive), and when it stops. At most 360 PUTs an hour ($0.0018, 2 % of a c7i.large
 * hour; $0.005 per million images at 100 images/s), 60 when idle.
 */
public final class UsageRecorder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UsageRecorder.class);
    public static final Duration EVERY = Duration.ofMinutes(1);
    public static final Duration BUSY_EVERY = Duration.ofSeconds(10);

    private final Worker worker;
    private final ObjectStore output;
    private final String id;
    private final InstanceFacts facts;
    private final RequestLedger requests;
    private final Time time;
    private final long startedAt;
    private final Scheduler timer;
    private long writtenImages = -1;
    private long writtenAt;

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
        timer.scheduleWithFixedDelay(this::tick, BUSY_EVERY, BUSY_EVERY);
    }

    /** Writes when images were finished since the last record, or a minute has passed. */
    private synchronized void tick() {
        if (worker.processed() != writtenImages || time.millis() - writtenAt >= EVERY.toMillis()) {
            write();
        }
    }

    /** The record as of now. */
    WorkerUsage snapshot() {
        Map<String, Long> byOperation = new LinkedHashMap<>();
        RequestCounts counts = requests.snapshot();
        counts.byOperation().forEach((k, v) -> byOperation.put(k.toString(), v));
        return new WorkerUsage(WorkerUsage.VERSION, id, facts.instanceType(), facts.market(), startedAt, time.millis(),
                worker.processed(), worker.busyMs(), worker.usageByJob(), byOperation);
    }

    private synchronized void write() {
        try {
            WorkerUsage usage = snapshot();
            output.put(usage.key(), Json.bytes(usage), "application/json");
            writtenImages = usage.images();
            writtenAt = usage.updatedAt();
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
