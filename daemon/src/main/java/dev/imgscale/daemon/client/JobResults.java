package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reading a stack's jobs: manifests, results, progress, and following a job to its end. Result
 * objects are the source of truth and reading consumes nothing, so any number of readers see the
 * same results.
 */
@ThreadSafe
final class JobResults {
    private static final Logger LOG = LoggerFactory.getLogger(JobClient.class);

    private final StackContext stack;
    private final Clock clock;

    JobResults(StackContext stack, Clock clock) {
        this.stack = stack;
        this.clock = clock;
    }

    List<String> resultNames(String job) {
        Jobs.check(job);
        List<String> names = new ArrayList<>();
        for (String key : stack.output().list(Keys.resultPrefix(job))) {
            String name = Keys.nameOfResult(job, key);
            if (name != null) {
                names.add(name);
            }
        }
        return names;
    }

    Optional<ResultRecord> result(String job, String name) {
        Jobs.check(job);
        return readResult(job, Keys.result(job, name));
    }

    Optional<JobManifest> manifest(String job) {
        Jobs.check(job);
        return stack.output().get(Keys.manifest(job)).map(b -> Json.read(b, JobManifest.class));
    }

    JobManifest requireManifest(String job) {
        return manifest(job).orElseThrow(() -> new ImgscaleException("There is no job " + job + " in stack "
                + stack.config().names().stack() + " (see `imgscale status` for recent jobs)."));
    }

    List<ResultRecord> results(String job) {
        Jobs.check(job);
        Map<String, ResultRecord> byName = new TreeMap<>();
        for (String key : stack.output().list(Keys.resultPrefix(job))) {
            readResult(job, key).ifPresent(r -> byName.put(r.name(), r));
        }
        return new ArrayList<>(byName.values());
    }

    private Optional<ResultRecord> readResult(String job, String key) {
        if (Keys.nameOfResult(job, key) == null) {
            return Optional.empty();
        }
        try {
            return stack.output().get(key).map(b -> Json.read(b, ResultRecord.class));
        } catch (Json.MalformedRecordException e) {
            LOG.warn("Skipping {}: {}", key, e.getMessage());
            return Optional.empty();
        }
    }

    /** See {@link JobClient#follow}. */
    JobProgress follow(String job, Consumer<ResultRecord> sink, Duration poll, Duration timeout, BooleanSupplier stop) {
        JobManifest manifest = requireManifest(job);
        Set<String> expected = new HashSet<>(manifest.images());
        Set<String> seen = new HashSet<>();
        int failed = 0;
        long deadline = timeout == null ? Long.MAX_VALUE : clock.millis() + timeout.toMillis();
        long pause = Math.min(200, poll.toMillis());
        while (true) {
            List<String> fresh = new ArrayList<>();
            for (String key : stack.output().list(Keys.resultPrefix(job))) {
                String name = Keys.nameOfResult(job, key);
                if (name != null && !seen.contains(name)) {
                    fresh.add(key);
                }
            }
            fresh.sort(Comparator.naturalOrder());
            for (String key : fresh) {
                Optional<ResultRecord> r = readResult(job, key);
                if (r.isPresent() && seen.add(r.get().name())) {
                    if (!r.get().ok()) {
                        failed++;
                    }
                    sink.accept(r.get());
                }
            }
            if (seen.containsAll(expected) || stop.getAsBoolean() || clock.millis() >= deadline) {
                return new JobProgress(job, expected.size(), (int) seen.stream().filter(expected::contains).count(), failed);
            }
            // poll quickly while results stream in, back off to `poll` when nothing comes
            pause = fresh.isEmpty() ? Math.min(poll.toMillis(), pause * 2) : 200;
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new JobProgress(job, expected.size(), (int) seen.stream().filter(expected::contains).count(), failed);
            }
        }
    }

    List<String> recentJobs(int limit) {
        Set<String> jobs = new HashSet<>();
        for (String key : stack.output().list(Keys.JOBS)) {
            String rest = key.substring(Keys.JOBS.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                jobs.add(rest.substring(0, slash));
            }
        }
        List<String> sorted = new ArrayList<>(jobs);
        sorted.sort(Comparator.reverseOrder());
        return sorted.subList(0, Math.min(limit, sorted.size()));
    }

    JobProgress progress(JobManifest manifest) {
        Set<String> names = new HashSet<>(manifest.images());
        int done = 0;
        int failed = 0;
        for (ResultRecord r : results(manifest.job())) {
            if (names.contains(r.name())) {
                done++;
                if (!r.ok()) {
                    failed++;
                }
            }
        }
        return new JobProgress(manifest.job(), manifest.count(), done, failed);
    }
}
