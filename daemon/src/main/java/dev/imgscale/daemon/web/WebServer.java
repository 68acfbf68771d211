package dev.imgscale.daemon.web;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.client.UploadItem;
import dev.imgscale.daemon.client.UploadListener;
import dev.imgscale.daemon.client.UploadReport;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.stack.StackContext;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RoutingHandler;
import io.undertow.server.handlers.sse.ServerSentEventConnection;
import io.undertow.server.handlers.sse.ServerSentEventHandler;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web tier ({@code imgscale serve}): an HTTP server over the same {@link JobClient} the command
 * line uses. It serves
 * <ul>
 *   <li>{@code POST /} with an image in the multipart field {@code myfile}, answered with
 *       {@code (name, label)} once that image's result exists (the compatibility endpoint of the
 *       course's load generators); the images go to one shared job that rolls over every
 *       {@link WebOptions#rollAfter()} images;</li>
 *   <li>the page at {@code /} (HTML, CSS and JS from the jar: no CDN, works offline);</li>
 *   <li>a JSON API under {@code /api}: create a job (with files, or empty to add files one request
 *       at a time), add images, list a job's results, stream them as server-sent events, status,
 *       reset.</li>
 * </ul>
 *
 * <p>A request that waits for a result holds no thread: its image is stored and queued on a worker
 * thread (see {@link OpenJobs} for how concurrent uploads share one manifest write and batched
 * requests), and then it only registers with the {@link ResultWatcher}, whose single thread lists
 * each watched job's results once per poll for all the requests waiting on it. Undertow keeps the
 * connection open meanwhile, so hundreds of requests can wait at once.
 *
 * <p>Requests are refused before anything is stored ({@link ImageUploads}), so a refused request
 * leaves no object, manifest or message behind. Binding to anything but loopback requires a token
 * ({@link AccessGuard}).
 */
public final class WebServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WebServer.class);
    private static final String STATIC = "dev/imgscale/daemon/web/static/";
    private static final Map<String, String> ASSETS = Map.of(
            "/", "index.html",
            "/app.js", "app.js",
            "/app.css", "app.css",
            "/favicon.svg", "favicon.svg");
    private static final HttpString CONTENT_SECURITY_POLICY = new HttpString("Content-Security-Policy");
    private static final HttpString NO_SNIFF = new HttpString("X-Content-Type-Options");
    private static final HttpString REFERRER_POLICY = new HttpString("Referrer-Policy");
    private static final HttpString FRAME_OPTIONS = new HttpString("X-Frame-Options");
    private static final HttpString JOB_HEADER = new HttpString("X-Imgscale-Job");
    private static final HttpString IMAGE_HEADER = new HttpString("X-Imgscale-Image");
    private static final long STATUS_CACHE_MS = 1000;

    private final StackContext stack;
    private final JobClient client;
    private final WebOptions options;
    private final OpenJobs openJobs;
    private final ResultWatcher watcher;
    private final Path tempDir;
    /** Sends the answers of waiting requests: short blocking writes, off the watcher's thread. */
    private final ExecutorService responders;
    private final ServerSentEventHandler events;
    private final Map<String, byte[]> assets;
    private final Undertow undertow;
    private final InetSocketAddress address;
    private final AtomicLong compatAnswered = new AtomicLong();
    private volatile ObjectNode statusCache;
    private volatile long statusCachedAt;

    private WebServer(StackContext stack, WebOptions options, Clock clock) throws IOException {
        this.stack = stack;
        this.client = new JobClient(stack, clock);
        this.options = options;
        this.tempDir = Files.createTempDirectory("imgscale-serve-");
        this.assets = loadAssets();
        this.openJobs = new OpenJobs(client, clock, options.rollAfter());
        this.watcher = new ResultWatcher(client, job -> openJobs.find(job).map(j -> OptionalInt.of(j.committed()))
                .orElse(OptionalInt.empty()));
        this.responders = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "imgscale-web-respond");
            t.setDaemon(true);
            return t;
        });
        this.events = new ServerSentEventHandler(this::streamJob);
        HttpHandler root = securityHeaders(new AccessGuard(routes(), options.token()));
        this.undertow = Undertow.builder()
                .addHttpListener(options.port(), options.host())
                .setIoThreads(2)
                .setWorkerThreads(16)
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, options.maxRequestBytes())
                // a part is a parameter to the multipart parser: room for the files and a few fields
                .setServerOption(UndertowOptions.MAX_PARAMETERS, options.maxFiles() + 64)
                // a client gets a minute to send its headers, and an idle keep-alive connection two
                // (a request waiting for its result is not idle)
                .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, 60_000)
                .setServerOption(UndertowOptions.NO_REQUEST_TIMEOUT, 120_000)
                .setHandler(root)
                .build();
        try {
            undertow.start();
        } catch (RuntimeException e) {
            close();
            throw new ImgscaleException("Cannot listen on " + options.host() + ":" + options.port() + " ("
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + "); choose another --bind HOST:PORT.", e);
        }
        this.address = (InetSocketAddress) undertow.getListenerInfo().get(0).getAddress();
    }

    /**
     * Starts serving the stack. Refuses a bind address other machines can reach without a token.
     *
     * @throws ImgscaleException when the address cannot be used
     */
    public static WebServer start(StackContext stack, WebOptions options, Clock clock) {
        options.checkExposure();
        // Undertow and XNIO log through jboss-logging: send that to slf4j like everything else.
        if (System.getProperty("org.jboss.logging.provider") == null) {
            System.setProperty("org.jboss.logging.provider", "slf4j");
        }
        try {
            WebServer server = new WebServer(stack, options, clock);
            LOG.info("Serving stack {} at {} ({})", stack.config().names().stack(), server.uri(),
                    options.token() == null ? "loopback, no token" : "token required");
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The address the server listens on (with the real port when 0 was asked). */
    public InetSocketAddress address() {
        return address;
    }

    /** The page's address. */
    public URI uri() {
        String host = address.getAddress().isAnyLocalAddress() ? "127.0.0.1" : address.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + address.getPort() + "/");
    }

    public WebOptions options() {
        return options;
    }

    // ---- routes ----

    private HttpHandler routes() {
        RoutingHandler routes = new RoutingHandler();
        for (String path : ASSETS.keySet()) {
            routes.get(path, this::asset);
        }
        routes.post("/", blocking(this::compat, false));
        routes.get("/api/status", blocking(ex -> Responses.json(ex, StatusCodes.OK, status()), true));
        routes.post("/api/jobs", blocking(this::createJob, true));
        routes.get("/api/jobs", blocking(this::listJobs, true));
        routes.delete("/api/jobs", blocking(this::resetAll, true));
        routes.get("/api/jobs/{job}", blocking(this::jobProgress, true));
        routes.delete("/api/jobs/{job}", blocking(this::resetJob, true));
        routes.post("/api/jobs/{job}/images", blocking(this::addImages, true));
        routes.get("/api/jobs/{job}/results", blocking(this::jobResults, true));
        routes.get("/api/jobs/{job}/events", blocking(this::jobEvents, true));
        routes.setFallbackHandler(ex -> Responses.text(ex, StatusCodes.NOT_FOUND, "Nothing at " + ex.getRequestPath()
                + ": the page is at /, images go to POST /, the API is under /api (see the README)."));
        routes.setInvalidMethodHandler(ex -> Responses.text(ex, StatusCodes.METHOD_NOT_ALLOWED, ex.getRequestMethod() + " is not"
                + " allowed on " + ex.getRequestPath() + "."));
        return routes;
    }

    private static HttpHandler securityHeaders(HttpHandler next) {
        return exchange -> {
            var h = exchange.getResponseHeaders();
            h.put(NO_SNIFF, "nosniff");
            h.put(REFERRER_POLICY, "no-referrer");
            h.put(FRAME_OPTIONS, "DENY");
            h.put(CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self';"
                    + " connect-src 'self'; frame-ancestors 'none'; form-action 'self'");
            h.put(Headers.CACHE_CONTROL, "no-store");
            next.handleRequest(exchange);
        };
    }

    /** A handler body that may block (S3, SQS, reading the upload). */
    private interface Blocking {
        void handle(HttpServerExchange exchange) throws Exception;
    }

    /**
     * Runs the handler on a worker thread, never the IO threads, and turns a failure into its
     * answer: an {@link HttpError} as it says, a user-fixable {@link ImgscaleException} as 503 (the
     * stack cannot be reached, mostly), anything else as 500.
     */
    private HttpHandler blocking(Blocking handler, boolean api) {
        return new HttpHandler() {
            @Override
            public void handleRequest(HttpServerExchange exchange) {
                if (exchange.isInIoThread()) {
                    exchange.dispatch(this);
                    return;
                }
                try {
                    handler.handle(exchange);
                } catch (Exception e) {
                    fail(exchange, e, api);
                }
            }
        };
    }

    private void fail(HttpServerExchange exchange, Throwable e, boolean api) {
        Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        int status;
        String message;
        if (t instanceof HttpError h) {
            status = h.status();
            message = h.getMessage();
        } else if (t instanceof ResultWatcher.JobGoneException) {
            status = StatusCodes.GONE;
            message = t.getMessage();
        } else if (t instanceof ImgscaleException) {
            status = StatusCodes.SERVICE_UNAVAILABLE;
            message = t.getMessage();
            LOG.warn("{} {}: {}", exchange.getRequestMethod(), exchange.getRequestPath(), message);
        } else {
            status = StatusCodes.INTERNAL_SERVER_ERROR;
            message = "The server failed (" + t + "); see its log.";
            LOG.error("{} {} failed", exchange.getRequestMethod(), exchange.getRequestPath(), t);
        }
        if (exchange.isResponseStarted()) {
            exchange.endExchange();
            return;
        }
        if (status == StatusCodes.REQUEST_ENTITY_TOO_LARGE && !exchange.isRequestComplete()) {
            exchange.setPersistent(false); // a body too large to read through: this connection is done
        }
        if (api) {
            Responses.jsonError(exchange, status, message);
        } else {
            Responses.text(exchange, status, message);
        }
    }

    private void asset(HttpServerExchange exchange) {
        String name = ASSETS.get(exchange.getRelativePath());
        byte[] body = assets.get(name);
        String type = name.endsWith(".html") ? "text/html; charset=utf-8"
                : name.endsWith(".js") ? "text/javascript; charset=utf-8"
                : name.endsWith(".css") ? "text/css; charset=utf-8"
                : "image/svg+xml";
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, type);
        exchange.getResponseSender().send(java.nio.ByteBuffer.wrap(body));
    }

    private static Map<String, byte[]> loadAssets() throws IOException {
        Map<String, byte[]> out = new java.util.HashMap<>();
        for (String name : new HashSet<>(ASSETS.values())) {
            try (InputStream in = WebServer.class.getClassLoader().getResourceAsStream(STATIC + name)) {
                if (in == null) {
                    throw new IllegalStateException("the page asset " + STATIC + name + " is missing from the jar");
                }
                out.put(name, in.readAllBytes());
            }
        }
        return Map.copyOf(out);
    }

    // ---- POST /: one image, answered with its label ----

    private void compat(HttpServerExchange exchange) {
        exchange.startBlocking();
        List<ImageUploads.Received> files = ImageUploads.read(exchange, options, tempDir, "myfile");
        if (files.size() > 1) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "POST / takes one image (field 'myfile'); send many with POST /api/jobs.");
        }
        ImageUploads.Received file = files.get(0);
        String shortName = ImageNames.shortName(ImageNames.sanitise(file.fileName()));
        OpenJobs.Reservation r = openJobs.reserveRolling(file.fileName());
        String job = r.job().id;
        client.store(job, file.item(r.name()));
        // registered before the request is sent, so the result cannot come unseen
        CompletableFuture<ResultRecord> result = watcher.await(job, r.name(), options.resultTimeout());
        CompletableFuture<Void> queued = openJobs.commit(r.job(), List.of(r.name()));
        exchange.getResponseHeaders().put(JOB_HEADER, job).put(IMAGE_HEADER, r.name());
        // From here the request waits without a thread: the exchange stays open after this handler
        // returns, and is answered from the responders when its result (or its failure) comes.
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
            queued.whenComplete((v, e) -> {
                if (e != null) {
                    result.completeExceptionally(e);
                }
            });
            result.whenCompleteAsync((record, e) -> answerCompat(exchange, shortName, job, r.name(), record, e), responders);
        });
    }

    private void answerCompat(HttpServerExchange exchange, String shortName, String job, String name, ResultRecord record, Throwable e) {
        compatAnswered.incrementAndGet();
        try {
            if (e == null && record.ok()) {
                Responses.text(exchange, StatusCodes.OK, "(" + shortName + ", " + record.label() + ")");
            } else if (e == null) {
                // the worker rejected the image: its error code, as `imgscale results` shows it
                Responses.text(exchange, 422, "(" + shortName + ", ERROR " + record.error() + ": " + record.message() + ")");
            } else {
                Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (t instanceof TimeoutException) {
                    Responses.text(exchange, StatusCodes.GATEWAY_TIME_OUT, "No result for " + shortName + " within "
                            + options.resultTimeout().toSeconds() + " s: the image is queued as " + name + " in job " + job
                            + "; its label will be in `imgscale results --job " + job + "` once a worker is free.");
                } else {
                    fail(exchange, t, false);
                }
            }
        } catch (RuntimeException failed) {
            // the client went away while it waited: nothing to answer
            LOG.debug("Could not answer {} of job {}: {}", name, job, failed.toString());
            exchange.endExchange();
        }
    }

    // ---- the JSON API ----

    /** POST /api/jobs: with files, a job of them (the same upload as the CLI's); without, an empty job the page then fills. */
    private void createJob(HttpServerExchange exchange) {
        String type = exchange.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("multipart/")) {
            OpenJobs.OpenJob job = openJobs.create();
            ObjectNode body = WebJson.MAPPER.createObjectNode().put("job", job.id).put("open", true).put("total", 0);
            exchange.getResponseHeaders().put(Headers.LOCATION, "/api/jobs/" + job.id);
            Responses.json(exchange, StatusCodes.CREATED, body);
            return;
        }
        exchange.startBlocking();
        List<ImageUploads.Received> files = ImageUploads.read(exchange, options, tempDir, null);
        ImageNames names = new ImageNames();
        List<UploadItem> items = new ArrayList<>(files.size());
        ArrayNode images = WebJson.MAPPER.createArrayNode();
        for (ImageUploads.Received f : files) {
            UploadItem item = f.item(names.unique(f.fileName()));
            items.add(item);
            images.addObject().put("file", f.fileName()).put("name", item.name());
        }
        UploadReport report = client.upload(items, 8, UploadListener.NONE);
        if (report.queued().isEmpty()) {
            throw new HttpError(StatusCodes.SERVICE_UNAVAILABLE, "No image could be stored: " + report.failures().get(0).reason());
        }
        ObjectNode body = WebJson.MAPPER.createObjectNode().put("job", report.job()).put("open", false)
                .put("total", report.queued().size());
        body.set("images", images);
        ArrayNode failures = body.putArray("failures");
        report.failures().forEach(f -> failures.addObject().put("name", f.file()).put("reason", f.reason()));
        exchange.getResponseHeaders().put(Headers.LOCATION, "/api/jobs/" + report.job());
        Responses.json(exchange, StatusCodes.CREATED, body);
    }

    /** POST /api/jobs/{job}/images: more images for a job this server created empty. */
    private void addImages(HttpServerExchange exchange) {
        String id = jobParam(exchange);
        OpenJobs.OpenJob job = openJobs.find(id).orElseThrow(() -> new HttpError(StatusCodes.NOT_FOUND, "Job " + id + " does not"
                + " take images here: add images only to a job this server created with POST /api/jobs (no files) since it started."));
        exchange.startBlocking();
        List<ImageUploads.Received> files = ImageUploads.read(exchange, options, tempDir, null);
        List<String> stored = new ArrayList<>(files.size());
        ArrayNode images = WebJson.MAPPER.createArrayNode();
        try {
            for (ImageUploads.Received f : files) {
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
                    fail(exchange, e, true);
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
        Optional<ObjectNode> summary = summary(job);
        if (summary.isEmpty()) {
            throw noSuchJob(job);
        }
        Responses.json(exchange, StatusCodes.OK, summary.get());
    }

    /**
     * A job's progress from one listing of its results and its manifest (not by reading every
     * result, which a status page polled by many would pay again and again); {@code failed} comes
     * along when the watcher has read the results anyway.
     */
    private Optional<ObjectNode> summary(String job) {
        Optional<OpenJobs.OpenJob> open = openJobs.find(job);
        Optional<JobManifest> manifest = client.manifest(job);
        if (manifest.isEmpty() && open.isEmpty()) {
            return Optional.empty();
        }
        Set<String> names = new HashSet<>(manifest.map(JobManifest::images).orElse(List.of()));
        int done = (int) client.resultNames(job).stream().filter(names::contains).count();
        ObjectNode node = WebJson.MAPPER.createObjectNode().put("job", job).put("total", names.size()).put("done", done);
        watcher.progress(job).ifPresent(p -> node.put("failed", p.failed()));
        node.put("complete", !names.isEmpty() && done >= names.size()).put("open", open.isPresent());
        manifest.ifPresent(m -> node.put("createdAt", Instant.ofEpochMilli(m.createdAt()).toString()));
        return Optional.of(node);
    }

    private void jobResults(HttpServerExchange exchange) {
        String job = jobParam(exchange);
        if (client.manifest(job).isEmpty() && openJobs.find(job).isEmpty()) {
            throw noSuchJob(job);
        }
        ArrayNode results = WebJson.MAPPER.createArrayNode();
        for (ResultRecord r : client.results(job)) {
            results.add(WebJson.result(r));
        }
        ObjectNode body = WebJson.MAPPER.createObjectNode().put("job", job);
        body.set("results", results);
        Responses.json(exchange, StatusCodes.OK, body);
    }

    /** GET /api/jobs/{job}/events: the job's results as server-sent events, those that exist first, then each as it comes. */
    private void jobEvents(HttpServerExchange exchange) throws Exception {
        String job = jobParam(exchange);
        if (openJobs.find(job).isEmpty() && client.manifest(job).isEmpty()) {
            throw noSuchJob(job);
        }
        exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-cache");
        events.handleRequest(exchange);
    }

    private void streamJob(ServerSentEventConnection connection, String lastEventId) {
        String job = connection.getParameter("job");
        // comments every 15 s keep proxies from closing an idle stream and find clients that left
        connection.setKeepAliveTime(15_000);
        ResultWatcher.Subscriber subscriber = new ResultWatcher.Subscriber() {
            @Override
            public void result(ResultRecord record) {
                connection.send(WebJson.result(record).toString(), "result", null, null);
            }

            @Override
            public void progress(JobProgress progress) {
                connection.send(WebJson.progress(progress, openJobs.find(job).isPresent()).toString(), "progress", null, null);
            }

            @Override
            public void gone() {
                connection.send("{\"job\":\"" + job + "\"}", "gone", null, null);
                connection.shutdown();
            }

            @Override
            public boolean open() {
                return connection.isOpen();
            }
        };
        connection.addCloseTask(c -> watcher.unsubscribe(job, subscriber));
        watcher.subscribe(job, subscriber);
    }

    private void resetJob(HttpServerExchange exchange) {
        String job = jobParam(exchange);
        if (client.manifest(job).isEmpty() && openJobs.find(job).isEmpty()) {
            throw noSuchJob(job);
        }
        openJobs.forget(job);
        JobClient.ResetReport report = client.reset(job);
        watcher.gone(job);
        statusCache = null;
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
        statusCache = null;
        LOG.info("Reset the whole stack from the web: {} objects deleted, queues purged", report.objectsDeleted());
        Responses.json(exchange, StatusCodes.OK, WebJson.MAPPER.createObjectNode().put("deleted", report.objectsDeleted())
                .put("queuesPurged", report.queuesPurged()));
    }

    /**
     * The stack at a glance, as `imgscale status` shows it; cached a second, as many pages may poll
     * it. One computation at a time, so a slow one cannot overwrite a newer answer.
     */
    private synchronized ObjectNode status() {
        long now = System.currentTimeMillis();
        ObjectNode cached = statusCache;
        if (cached != null && now - statusCachedAt < STATUS_CACHE_MS) {
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
            summary(job).ifPresent(jobs::add);
        }
        ObjectNode server = root.putObject("server");
        server.put("waiting", watcher.waiting()).put("answered", compatAnswered.get()).put("commits", openJobs.commits())
                .put("committedImages", openJobs.committedImages()).put("polls", watcher.polls()).put("lists", watcher.lists());
        root.putObject("limits").put("maxFileBytes", options.maxFileBytes()).put("maxRequestBytes", options.maxRequestBytes())
                .put("maxFiles", options.maxFiles()).put("resultTimeoutSeconds", options.resultTimeout().toSeconds());
        statusCache = root;
        statusCachedAt = now;
        return root;
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

    /**
     * Stops: images already stored are still queued, requests still waiting are answered 503, then
     * the listener closes. The stack context stays open (its owner closes it).
     */
    @Override
    public void close() {
        if (openJobs != null) {
            openJobs.close();
        }
        if (watcher != null) {
            watcher.close(new ImgscaleException("The server is stopping; the image stays queued and its result will be in"
                    + " `imgscale results`."));
        }
        if (responders != null) {
            responders.shutdown();
            try {
                responders.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (undertow != null) {
            undertow.stop();
        }
        if (address != null) {
            LOG.info("Stopped serving {}", uri());
        }
        if (tempDir != null) {
            try (Stream<Path> files = Files.walk(tempDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                LOG.debug("Could not delete {}: {}", tempDir, e.toString());
            }
        }
    }
}
