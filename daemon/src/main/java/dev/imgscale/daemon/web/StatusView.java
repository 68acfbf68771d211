package dev.imgscale.daemon.web;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.stack.StackContext;
import java.time.Clock;
import java.util.function.Consumer;

/**
 * {@code GET /api/status}: the stack at a glance, as {@code imgscale status} shows it, with the
 * server's counters. Cached a second by the clock, as many pages may poll it; one computation at a
 * time, so a slow one cannot overwrite a newer answer.
 */
final class StatusView {
    static final long CACHE_MS = 1000;

    private final StackContext stack;
    private final JobClient client;
    private final JobApi api;
    private final Clock clock;
    /** Adds the server's counters (waiting requests, commits, uploads under way...) to the answer. */
    private final Consumer<ObjectNode> counters;
    private final WebOptions options;
    private ObjectNode cached;
    private long cachedAt;

    StatusView(StackContext stack, JobClient client, JobApi api, WebOptions options, Clock clock, Consumer<ObjectNode> counters) {
        this.stack = stack;
        this.client = client;
        this.api = api;
        this.options = options;
        this.clock = clock;
        this.counters = counters;
    }

    /** A reset changed the stack: the next status is computed afresh. */
    synchronized void invalidate() {
        cached = null;
    }

    synchronized ObjectNode status() {
        long now = clock.millis();
        if (cached != null && now - cachedAt < CACHE_MS) {
            return cached;
        }
        JobClient.QueueStatus queues = client.queues();
        ObjectNode root = WebJson.MAPPER.createObjectNode();
        root.put("stack", stack.config().names().stack()).put("local", stack.config().local())
                .put("model", stack.config().model());
        ObjectNode q = root.putObject("queues");
        q.set("requests", WebJson.depth(queues.requests()));
        q.set("deadLetters", WebJson.depth(queues.deadLetters()));
        q.set("results", WebJson.depth(queues.results()));
        ArrayNode jobs = root.putArray("jobs");
        for (String job : client.recentJobs(5)) {
            api.summary(job).ifPresent(jobs::add);
        }
        counters.accept(root.putObject("server"));
        root.putObject("limits").put("maxFileBytes", options.maxFileBytes()).put("maxRequestBytes", options.maxRequestBytes())
                .put("maxFiles", options.maxFiles()).put("resultTimeoutSeconds", options.resultTimeout().toSeconds())
                .put("uploadIdleTimeoutSeconds", options.uploads().idleTimeout().toSeconds())
                .put("minUploadBytesPerSecond", options.uploads().minBytesPerSecond())
                .put("uploadsPerClient", options.uploads().perClient());
        cached = root;
        cachedAt = now;
        return root;
    }
}
