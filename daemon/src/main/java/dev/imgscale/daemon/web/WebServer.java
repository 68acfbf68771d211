package dev.imgscale.daemon.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.time.Time;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.RoutingHandler;
import io.undertow.server.handlers.HttpContinueReadHandler;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web tier ({@code imgscale serve}): an HTTP server over the same {@link JobClient} the command
 * line uses. This class starts and stops it and holds the route table; each part has its class:
 * <ul>
 *   <li>{@link CourseEndpoint}: {@code POST /}, one image answered with its label;</li>
 *   <li>{@link JobApi}: the JSON API under {@code /api}, with {@link EventStream} (server-sent
 *       events) and {@link StatusView} ({@code /api/status});</li>
 *   <li>{@link StaticAssets}: the page, and the security headers of every answer;</li>
 *   <li>{@link Uploads}: request bodies, read without holding a thread per slow client, refused
 *       with their status before anything is stored;</li>
 *   <li>{@link AccessGuard}: who may use the server.</li>
 * </ul>
 *
 * <p>A request that waits for a result holds no thread: its image is stored and queued on a worker
 * thread (see {@link OpenJobs} for how concurrent uploads share one manifest write and batched
 * requests), then it registers with the {@link ResultWatcher}, whose single thread lists each
 * watched job's results once per poll for all the requests waiting on it.
 */
public final class WebServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WebServer.class);

    private final WebOptions options;
    private final OpenJobs openJobs;
    private final ResultWatcher watcher;
    private final Path tempDir;
    private final ExecutorService responders;
    /** Sweeps the upload gate and closes refused connections that linger. */
    private final Scheduler timers;
    private final UploadGate gate;
    private final Undertow undertow;
    private final InetSocketAddress address;

    private WebServer(StackContext stack, WebOptions options, Time time) throws IOException {
        Clock clock = time.clock();
        JobClient client = new JobClient(stack, clock);
        this.options = options;
        this.tempDir = Files.createTempDirectory("imgscale-serve-");
        this.openJobs = new OpenJobs(client, clock, options.rollAfter());
        this.watcher = ResultWatcher.start(ResultSource.of(client), job -> openJobs.find(job).map(j -> OptionalInt.of(j.committed()))
                .orElse(OptionalInt.empty()), time);
        this.responders = Executors.newFixedThreadPool(4, daemon("imgscale-web-respond"));
        this.gate = new UploadGate(options.uploads(), clock);
        Uploads uploads = new Uploads(options, tempDir, gate, clock);
        this.timers = time.scheduler("imgscale-web-sweep");
        timers.scheduleWithFixedDelay(() -> {
            gate.sweep();
            uploads.closeLingering();
        }, Duration.ofMillis(UploadGate.SWEEP_MS), Duration.ofMillis(UploadGate.SWEEP_MS));

        EventStream events = new EventStream(watcher, openJobs);
        StatusView[] status = new StatusView[1];
        JobApi api = new JobApi(stack, client, openJobs, watcher, uploads, events, responders, () -> status[0].invalidate());
        CourseEndpoint course = new CourseEndpoint(client, openJobs, watcher, uploads, options, responders);
        status[0] = new StatusView(stack, client, api, options, clock, server -> server.put("waiting", watcher.waiting())
                .put("answered", course.answered()).put("commits", openJobs.commits()).put("committedImages", openJobs.committedImages())
                .put("polls", watcher.polls()).put("lists", watcher.lists()).put("uploading", gate.reading())
                .put("uploadsWaiting", gate.waiting()).put("uploadsTimedOut", gate.timedOut()).put("uploadsTurnedAway", gate.turnedAway()));

        RoutingHandler routes = new RoutingHandler();
        new StaticAssets().addRoutes(routes);
        routes.post("/", course::handle);
        routes.get("/api/status", Handlers.blocking(ex -> Responses.json(ex, StatusCodes.OK, status[0].status()), true));
        api.addRoutes(routes);
        routes.setFallbackHandler(ex -> Responses.text(ex, StatusCodes.NOT_FOUND, "Nothing at " + ex.getRequestPath()
                + ": the page is at /, images go to POST /, the API is under /api (see docs/serve.md)."));
        routes.setInvalidMethodHandler(ex -> Responses.text(ex, StatusCodes.METHOD_NOT_ALLOWED, ex.getRequestMethod() + " is not"
                + " allowed on " + ex.getRequestPath() + "."));
        // a client that sent Expect: 100-continue gets it when its body is first read, not before
        HttpHandler root = StaticAssets.securityHeaders(new AccessGuard(new HttpContinueReadHandler(routes), options.token()));
        this.undertow = Undertow.builder()
                .addHttpListener(options.port(), options.host())
                .setIoThreads(2)
                .setWorkerThreads(16)
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, Uploads.connectionLimit(options))
                // a client gets a minute to send its headers, and an idle keep-alive connection two
                // (a request waiting for its result is not idle; a body's pace is the upload gate's)
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

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Starts serving the stack. Refuses a bind address other machines can reach without a token.
     *
     * @throws ImgscaleException when the address cannot be used
     */
    public static WebServer start(StackContext stack, WebOptions options, Time time) {
        options.checkExposure();
        // Undertow and XNIO log through jboss-logging: send that to slf4j like everything else.
        if (System.getProperty("org.jboss.logging.provider") == null) {
            System.setProperty("org.jboss.logging.provider", "slf4j");
        }
        try {
            WebServer server = new WebServer(stack, options, time);
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
        if (timers != null) {
            timers.close(); // the connections it would close are closed with the listener below
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
