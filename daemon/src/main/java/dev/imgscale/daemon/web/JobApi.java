package dev.imgscale.daemon.web;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.client.UploadItem;
import dev.imgscale.daemon.client.UploadListener;
import dev.imgscale.daemon.client.UploadReport;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.ResultRecord;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RoutingHandler;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API under {@code /api}: create a job (with files, or empty to add files one request at a
 * time), add images, list jobs, a job's progress and results, reset. Uploads are read by
 * {@link Uploads} without holding a thread; the handlers here run once a body is in and checked.
 */
final class JobApi {
    private static final Logger LOG = LoggerFactory.getLogger(JobApi.class);

    private final StackContext stack;
    private final JobClient client;
    private final OpenJobs openJobs;
    private final ResultWatcher watcher;
    private final Uploads uploads;
    private final EventStream events;
    private final Executor responders;
    /** Called after a reset, which changes what the status shows. */
    private final Runnable onReset;

    JobApi(StackContext stack, JobClient client, OpenJobs openJobs, ResultWatcher watcher, Uploads uploads, EventStream events,
           Executor responders, Runnable onReset) {
        this.stack = stack;
        this.client = client;
        this.openJobs = openJobs;
        this.watcher = watcher;
        this.uploads = uploads;
        this.events = events;
        this.responders = responders;
        this.onReset = onReset;
    }

    void addRoutes(RoutingHandler routes) {
        routes.post("/api/jobs", this::createJob);
        routes.get("/api/jobs", Handlers.blocking(this::listJobs, true));
        routes.delete("/api/jobs", Handlers.blocking(this::resetAll, true));
        routes.get("/api/jobs/{job}", Handlers.blocking(this::jobProgress, true));
        routes.delete("/api/jobs/{job}", Handlers.blocking(this::resetJob, true));
        routes.post("/api/jobs/{job}/images", this::addImages);
        routes.get("/api/jobs/{job}/results", Handlers.blocking(this::jobResults, true));
        routes.get("/api/jobs/{job}/events", Handlers.blocking(this::jobEvents, true));
    }

    /** POST /api/jobs: with files, a job of them (the same upload as the CLI's); without, an empty job the page then fills. */
    private void createJob(HttpServerExchange exchange) throws Exception {
        String type = exchange.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("multipart/")) {
            Handlers.blocking(this::createEmptyJob, true).handleRequest(exchange);
            return;
        }
        uploads.receive(exchange, null, true, this::createJobOf);
    }

    private void createEmptyJob(HttpServerExchange exchange) {
        OpenJobs.OpenJob job = openJobs.create();
        ObjectNode body = WebJson.MAPPER.createObjectNode().put("job", job.id).put("open", true).put("total", 0);
        exchange.getResponseHeaders().put(Headers.LOCATION, "/api/jobs/" + job.id);
        Responses.json(exchange, StatusCodes.CREATED, body);
    }

    private void createJobOf(HttpServerExchange exchange, List<Uploads.Received> files) {
        ImageNames names = new ImageNames();
        List<UploadItem> items = new ArrayList<>(files.size());
        ArrayNode images = WebJson.MAPPER.createArrayNode();
        for (Uploads.Received f : files) {
            UploadItem item = f.item(names.unique(f.fileName()));
            items.add(item);
            images.addObject().put("file", f.fileName()).put("name", item.name());
        }
        UploadReport report = client.upload(items, 8, UploadListener.NONE);
        if (report.queued() == 0) {
            throw new HttpError(StatusCodes.SERVICE_UNAVAILABLE, "No image could be stored: " + report.failures().get(0).reason());
        }
        ObjectNode body = WebJson.MAPPER.createObjectNode().put("job", report.job()).put("open", false)
                .put("total", report.queued());
        body.set("images", images);
        ArrayNode failures = body.putArray("failures");
        report.failures().forEach(f -> failures.addObject().put("name", f.file()).put("reason", f.reason()));
        exchange.getResponseHeaders().put(Headers.LOCATION, "/api/jobs/" + report.job());
        Responses.json(exchange, StatusCodes.CREATED, body);
    }

    /** POST /api/jobs/{job}/images: more images for a job this server created empty (checked before the body is read). */
    private void addImages(HttpServerExchange exchange) {
        String id;
        OpenJobs.OpenJob job;
        try {
            id = jobParam(exchange);
            job = openJobs.find(id).orElseThrow(() -> new HttpError(StatusCodes.NOT_FOUND, "Job " + id + " does not take images"
                    + " here: add images only to a job this server created with POST /api/jobs (no files) since it started."));
        } catch (HttpError e) {
            uploads.refuseUnread(exchange, e, true);
            return;
        }
        uploads.receive(exchange, null, true, (ex, files) -> addImagesOf(ex, job, files));
    }

    private void addImagesOf(HttpServerExchange exchange, OpenJobs.OpenJob job, List<Uploads.Received> files) {
        List<String> stored = new ArrayList<>(files.size());
        ArrayNode images = WebJson.MAPPER.createArrayNode();
        try {
            for (Uploads.Received f : files) {
                OpenJobs.Reservation r = openJobs.reserve(job, f.fileName());
                client.store(job.id, f.item(r.name()));
                stored.add(r.name());
                images.addObject().put("file", f.fileName()).put("name", r.name());
            }
        } catch (RuntimeException e) {
            if (!stored.isEmpty()) {
                client.discard(job.id, stored);
            }
            throw e;
        }
        CompletableFuture<Void> queued = openJobs.commit(job, stored);
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> queued.whenCompleteAsync((v, e) -> {
            try {
                if (e != null) {
                    Handlers.fail(exchange, e, true);
                    return;
                }
                ObjectNode body = WebJson.MAPPER.createObjectNode().put("job", job.id).put("open", true).put("total", job.committed());
                body.set("images", images);
                Responses.json(exchange, StatusCodes.CREATED, body);
            } catch (RuntimeException failed) {
                LOG.debug("Could not answer an upload to job {}: {}", job.id, failed.toString());
                exchange.endExchange();
            }
        }, responders));
    }

    private void listJobs(HttpServerExchange exchange) {
        int limit = intParam(exchange, "limit", 10, 1, 100);
        ArrayNode jobs = WebJson.MAPPER.createArrayNode();
        for (String job : client.recentJobs(limit)) {
            summary(job).ifPresent(jobs::add);
        }
        ObjectNode body = WebJson.MAPPER.createObjectNode();
        body.set("jobs", jobs);
        Responses.json(exchange, StatusCodes.OK, body);
    }

    private void jobProgress(HttpServerExchange exchange) {
        String job = jobParam(exchange);
        Responses.json(exchange, StatusCodes.OK, summary(job).orElseThrow(() -> noSuchJob(job)));
    }

    /**
     * A job's progress from one listing of its results and its manifest (not by reading every
     * result, which a status page polled by many would pay again and again): the counts in the
     * batch keys ({@link JobClient#progress}); {@code exact} false when a redelivery may have
     * counted an image twice. {@code failed} is the watcher's exact count when it reads the job
     * anyway. {@code total} is -1 for a job still being uploaded by {@code imgscale upload} (its
     * manifest open).
     */
    Optional<ObjectNode> summary(String job) {
        Optional<OpenJobs.OpenJob> open = openJobs.find(job);
        Optional<JobManifest> manifest = client.manifest(job);
        if (manifest.isEmpty() && open.isEmpty()) {
            return Optional.empty();
        }
        JobManifest m = manifest.orElse(JobManifest.open(job, 0, "web"));
        JobProgress p = client.progress(m);
        int total = manifest.isPresent() ? p.total() : open.get().committed();
        int done = total >= 0 ? Math.min(p.done(), total) : p.done();
        ObjectNode node = WebJson.MAPPER.createObjectNode().put("job", job).put("total", total).put("done", done);
        Optional<JobProgress> watched = watcher.progress(job);
        node.put("failed", watched.map(JobProgress::failed).orElse(p.failed()));
        node.put("exact", p.exact());
        node.put("complete", p.exact() && total > 0 && done >= total).put("open", open.isPresent());
        manifest.ifPresent(x -> node.put("createdAt", Instant.ofEpochMilli(x.createdAt()).toString()));
        return Optional.of(node);
    }

    /**
     * The job's results, streamed object by object in the order they were written (as `results`
     * prints them), one row per image: never all of them in memory, so a client asking for a job
     * of a million images gets them without costing the server a gigabyte.
     */
    private void jobResults(HttpServerExchange exchange) {
        String job = jobParam(exchange);
        Optional<JobManifest> stored = client.manifest(job);
        if (stored.isEmpty() && openJobs.find(job).isEmpty()) {
            throw noSuchJob(job);
        }
        JobManifest manifest = stored.orElse(JobManifest.open(job, 0, "web")); // still uploading
        Responses.jsonStream(exchange, StatusCodes.OK, out -> {
            out.writeStartObject();
            out.writeStringField("job", job);
            out.writeArrayFieldStart("results");
            client.readAll(manifest, r -> Responses.write(out, WebJson.result(r)), () -> Responses.flush(out));
            out.writeEndArray();
            out.writeEndObject();
        });
    }

    private void jobEvents(HttpServerExchange exchange) throws Exception {
        requireJob(exchange);
        events.handle(exchange);
    }

    private void resetJob(HttpServerExchange exchange) {
        String job = requireJob(exchange);
        openJobs.forget(job);
        JobClient.ResetReport report = client.reset(job);
        watcher.gone(job);
        onReset.run();
        Responses.json(exchange, StatusCodes.OK, WebJson.MAPPER.createObjectNode().put("job", job)
                .put("deleted", report.objectsDeleted()));
    }

    private void resetAll(HttpServerExchange exchange) {
        Deque<String> all = exchange.getQueryParameters().get("all");
        if (all == null || !"yes".equals(all.peekFirst())) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "DELETE /api/jobs empties the whole stack: confirm with ?all=yes"
                    + " (or delete one job with DELETE /api/jobs/ID).");
        }
        openJobs.forgetAll();
        JobClient.ResetReport report = client.reset(null);
        watcher.goneAll();
        onReset.run();
        LOG.info("Reset the whole stack from the web: {} objects deleted, queues purged", report.objectsDeleted());
        Responses.json(exchange, StatusCodes.OK, WebJson.MAPPER.createObjectNode().put("deleted", report.objectsDeleted())
                .put("queuesPurged", report.queuesPurged()));
    }

    /** The job of the path, which must exist (in the stack, or opened here and still empty). */
    private String requireJob(HttpServerExchange exchange) {
        String job = jobParam(exchange);
        if (openJobs.find(job).isEmpty() && client.manifest(job).isEmpty()) {
            throw noSuchJob(job);
        }
        return job;
    }

    private static String jobParam(HttpServerExchange exchange) {
        Deque<String> value = exchange.getQueryParameters().get("job");
        String job = value == null ? null : value.peekFirst();
        if (!JobId.valid(job)) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "'" + job + "' is not a job id (they look like 20261123-235959-3f9a1c).");
        }
        return job;
    }

    private static int intParam(HttpServerExchange exchange, String name, int dflt, int min, int max) {
        Deque<String> value = exchange.getQueryParameters().get(name);
        if (value == null) {
            return dflt;
        }
        try {
            return Math.max(min, Math.min(max, Integer.parseInt(value.peekFirst())));
        } catch (NumberFormatException e) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "'" + name + "' must be a number.");
        }
    }

    private HttpError noSuchJob(String job) {
        return new HttpError(StatusCodes.NOT_FOUND, "There is no job " + job + " in stack " + stack.config().names().stack() + ".");
    }
}
