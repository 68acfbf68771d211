package dev.imgscale.daemon.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.daemon.cost.InstancePrices;
import dev.imgscale.daemon.cost.RequestCostReport;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.wire.WorkerUsage;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a job cost, from the workers' {@link WorkerUsage} records: computed, not billed, at list
 * prices ({@link InstancePrices}, {@link RequestPrices}).
 * <ul>
 *   <li><b>worker-seconds</b>: the time workers were busy delivering this job's images (each
 *       batch's busy time split among its jobs by image count);</li>
 *   <li><b>instance-seconds</b>: how long the workers that served it were alive while it ran
 *       ({@code [window start, window end]}); the share is worker-seconds over instance-seconds, what
 *       the elasticity left idle shows as the rest;</li>
 *   <li><b>compute</b>: each worker's instance-seconds in the window at its type and market's price,
 *       times the part of that worker's busy time that was this job's (all of it when the worker
 *       served only this job, the usual case with idle exit; when it served several, its time is
 *       split by their busy time over its life);</li>
 *   <li><b>requests</b>: each worker's AWS requests times the share of its images that were this
 *       job's, plus the requests of the upload when its record has them.</li>
 * </ul>
 * {@code workers}: those that served the job; {@code recorders}: the workers that kept a usage
 * record while it ran, whether or not they served it yet (none: no worker keeps records).
 */
public record JobCost(String job, long images, double workerSeconds, double instanceSeconds, double computeUsd,
                      boolean estimated, Set<String> unpriced, RequestCounts requests, double requestUsd, int workers,
                      int recorders) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How old an idle worker's record may be (it is rewritten every minute), with a margin. */
    static final long RECORD_AGE_IDLE_MS = 75_000;

    /** A job whose cost is asked for: created at {@code createdAt} (its manifest's), finished or not. */
    public record Query(String job, long createdAt, boolean complete) {
    }

    public JobCost {
        unpriced = Set.copyOf(unpriced);
    }

    /**
     * The job's cost over {@code [from, to]} (epoch millis) from every usage record; records of
     * workers that neither overlapped the window nor did any of the job's images count nothing.
     */
    public static JobCost compute(String job, long from, long to, Collection<WorkerUsage> usages, RequestCounts uploadRequests,
                                  InstancePrices prices, RequestPrices requestPrices) {
        long images = 0;
        double busy = 0;
        double alive = 0;
        double compute = 0;
        boolean estimated = false;
        int workers = 0;
        int recorders = 0;
        Set<String> unpriced = new TreeSet<>();
        RequestCounts.Builder requests = RequestCounts.builder();
        for (WorkerUsage u : usages) {
            // an idle worker rewrites its record once a minute: one written up to then before the job may be alive in it
            if (u.startedAt() <= to && u.updatedAt() >= from - RECORD_AGE_IDLE_MS) {
                recorders++;
            }
            WorkerUsage.JobShare share = u.jobs().get(job);
            if (share == null || share.images() == 0) {
                continue;
            }
            workers++;
            images += share.images();
            busy += share.busyMs() / 1000.0;
            double overlap = Math.max(0, Math.min(u.updatedAt(), to) - Math.max(u.startedAt(), from)) / 1000.0;
            // a batch delivered at the window's edge may end after the worker's last record: never less than busy
            overlap = Math.max(overlap, share.busyMs() / 1000.0);
            alive += overlap;
            InstancePrices.Hourly hourly = prices.hourly(u.instanceType(), u.market());
            if (!hourly.known()) {
                unpriced.add(u.instanceType());
            }
            estimated |= hourly.estimated();
            double part = u.busyMs() > 0 ? Math.min(1.0, (double) share.busyMs() / u.busyMs()) : 1.0;
            compute += overlap / 3600.0 * hourly.usd() * part;
            if (u.images() > 0) {
                double imageShare = (double) share.images() / u.images();
                for (Map.Entry<String, Long> r : u.requests().entrySet()) {
                    int colon = r.getKey().indexOf(':');
                    if (colon > 0) {
                        requests.add(new RequestCounts.Key(r.getKey().substring(0, colon), r.getKey().substring(colon + 1)),
                                Math.round(r.getValue() * imageShare));
                    }
                }
            }
        }
        RequestCounts counts = requests.build().plus(uploadRequests == null ? RequestCounts.EMPTY : uploadRequests);
        double requestUsd = new RequestCostReport(counts, requestPrices, Math.max(1, images)).dollars();
        return new JobCost(job, images, busy, alive, compute, estimated, unpriced, counts, requestUsd, workers, recorders);
    }

    /** When the workers finished the job's last batch (epoch millis), empty if no worker recorded any. */
    public static java.util.OptionalLong lastResultAt(String job, Collection<WorkerUsage> usages) {
        return usages.stream().map(u -> u.jobs().get(job)).filter(s -> s != null && s.lastAt() > 0)
                .mapToLong(WorkerUsage.JobShare::lastAt).max();
    }

    /** Worker-seconds over instance-seconds; 0 before any worker was seen. */
    public double share() {
        return instanceSeconds <= 0 ? 0 : Math.min(1.0, workerSeconds / instanceSeconds);
    }

    public double totalUsd() {
        return computeUsd + requestUsd;
    }

    /** Dollars per million images at this job's cost; 0 before its first image. */
    public double usdPerMillionImages() {
        return images == 0 ? 0 : totalUsd() / images * 1e6;
    }

    /**
     * Two lines: {@code cost: 280 images on 2 workers; 61.2 worker-seconds of 95.0 instance-seconds while it ran (64 %); 3,210 requests}
     * and {@code       $0.0024 compute + $0.0031 requests = $0.0055 ($19.64 per million images, list prices)}.
     */
    public String text() {
        String first = String.format(Locale.ROOT, "cost: %,d images on %d worker%s; %.1f worker-seconds of %.1f instance-seconds while it ran"
                        + " (%.0f %%); %,d requests", images, workers, workers == 1 ? "" : "s", workerSeconds, instanceSeconds,
                share() * 100, requests.total());
        String note = estimated ? "Spot estimated at a share of On-Demand" : "list prices";
        if (!unpriced.isEmpty()) {
            note += "; no price for " + String.join(", ", unpriced) + " (give it with --instance-prices TYPE=USD)";
        }
        String second = String.format(Locale.ROOT, "      $%.4f compute + $%.4f requests = $%.4f ($%.2f per million images, %s)",
                computeUsd, requestUsd, totalUsd(), usdPerMillionImages(), note);
        return first + "\n" + second;
    }

    /** The same as a JSON object, for {@code --json} outputs. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("images", images);
        o.put("workers", workers);
        o.put("workerSeconds", round(workerSeconds, 1));
        o.put("instanceSeconds", round(instanceSeconds, 1));
        o.put("share", round(share(), 3));
        o.put("requests", requests.total());
        o.put("computeUsd", round(computeUsd, 6));
        o.put("requestUsd", round(requestUsd, 6));
        o.put("totalUsd", round(totalUsd(), 6));
        o.put("usdPerMillionImages", round(usdPerMillionImages(), 2));
        o.put("spotEstimated", estimated);
        o.putPOJO("unpriced", unpriced);
        ObjectNode byOp = o.putObject("requestsByOperation");
        requests.byOperation().forEach((k, v) -> byOp.put(k.toString(), v));
        return o;
    }

    private static double round(double v, int places) {
        double f = Math.pow(10, places);
        return Math.round(v * f) / f;
    }
}
