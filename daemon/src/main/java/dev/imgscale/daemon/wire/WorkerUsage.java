package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one worker process cost and on what (version 1), at {@code fleet/usage/<startedAt>-<id>.json}
 * in the output bucket: written by the worker every minute and when it stops, kept after the
 * worker is gone (unlike its board report), so that a job's cost can be computed after the fleet
 * has shrunk to zero.
 *
 * @param id           the worker (instance id on EC2)
 * @param instanceType e.g. {@code c7i.large}; {@code local} for a process of the local stack
 * @param market       {@code spot}, {@code on-demand} or {@code local}
 * @param startedAt    epoch millis when the worker started
 * @param updatedAt    epoch millis of this record: the worker was alive until at least then
 * @param images       images it finished (labelled or failed), all jobs
 * @param busyMs       wall time it was busy delivering them (the sum of the jobs' busyMs)
 * @param jobs         per job: images finished and the share of busy time they took
 * @param requests     AWS requests the process sent, by {@code Service:Operation} (all jobs)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record WorkerUsage(int v, String id, String instanceType, String market, long startedAt, long updatedAt, long images,
                          long busyMs, Map<String, JobShare> jobs, Map<String, Long> requests) {
    public static final int VERSION = 1;
    public static final String PREFIX = "fleet/usage/";

    public WorkerUsage {
        jobs = jobs == null ? Map.of() : new TreeMap<>(jobs);
        requests = requests == null ? Map.of() : new TreeMap<>(requests);
    }

    /**
     * One job's part of a worker's work: images finished, the busy time they took, and when (epoch
     * millis) its first and last batch of the job were finished.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record JobShare(long images, long busyMs, long firstAt, long lastAt) {
    }

    /** Where this worker's record lives: sortable by start, unique per process even if an id is reused. */
    public String key() {
        return key(startedAt, id);
    }

    public static String key(long startedAt, String id) {
        return PREFIX + String.format(java.util.Locale.ROOT, "%013d", startedAt) + "-" + id + ".json";
    }

    /** The start time a key names, or -1 if the key is not a usage record. */
    public static long startedAt(String key) {
        if (!key.startsWith(PREFIX) || key.length() < PREFIX.length() + 14) {
            return -1;
        }
        try {
            return Long.parseLong(key.substring(PREFIX.length(), PREFIX.length() + 13));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
