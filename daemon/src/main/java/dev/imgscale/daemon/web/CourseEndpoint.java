package dev.imgscale.daemon.web;

import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.ResultRecord;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HttpString;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /} with an image in the multipart field {@code myfile}, answered with
 * {@code (name, label)} once that image's result exists: the compatibility endpoint of the course's
 * load generators. The images go to one shared job that rolls over every
 * {@link WebOptions#rollAfter()} images; the headers {@code X-Imgscale-Job} and
 * {@code X-Imgscale-Image} name it (the image's name percent-encoded, see {@link HeaderValues}).
 *
 * <p>A waiting request holds no thread: once its image is stored it registers with the
 * {@link ResultWatcher} and is answered from the responders when its result (or failure) comes.
 */
final class CourseEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(CourseEndpoint.class);
    static final HttpString JOB_HEADER = new HttpString("X-Imgscale-Job");
    static final HttpString IMAGE_HEADER = new HttpString("X-Imgscale-Image");

    private final JobClient client;
    private final OpenJobs openJobs;
    private final ResultWatcher watcher;
    private final Uploads uploads;
    private final WebOptions options;
    /** Sends the answers of waiting requests: short blocking writes, off the watcher's thread. */
    private final Executor responders;
    private final AtomicLong answered = new AtomicLong();

    CourseEndpoint(JobClient client, OpenJobs openJobs, ResultWatcher watcher, Uploads uploads, WebOptions options, Executor responders) {
        this.client = client;
        this.openJobs = openJobs;
        this.watcher = watcher;
        this.uploads = uploads;
        this.options = options;
        this.responders = responders;
    }

    /** Requests answered so far. */
    long answered() {
        return answered.get();
    }

    void handle(HttpServerExchange exchange) {
        uploads.receive(exchange, "myfile", false, this::accept);
    }

    private void accept(HttpServerExchange exchange, List<Uploads.Received> files) {
        if (files.size() > 1) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "POST / takes one image (field 'myfile'); send many with POST /api/jobs.");
        }
        Uploads.Received file = files.get(0);
        String shortName = ImageNames.shortName(ImageNames.sanitise(file.fileName()));
        OpenJobs.Reservation r = openJobs.reserveRolling(file.fileName());
        String job = r.job().id;
        client.store(job, file.item(r.name()));
        // registered before the request is sent, so the result cannot come unseen
        CompletableFuture<ResultRecord> result = watcher.await(job, r.name(), options.resultTimeout());
        CompletableFuture<Void> queued = openJobs.commit(r.job(), List.of(r.name()));
        exchange.getResponseHeaders().put(JOB_HEADER, job).put(IMAGE_HEADER, HeaderValues.encode(r.name()));
        // From here the request waits without a thread: the exchange stays open after this handler
        // returns, and is answered from the responders when its result (or its failure) comes.
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
            queued.whenComplete((v, e) -> {
                if (e != null) {
                    result.completeExceptionally(e);
                }
            });
            result.whenCompleteAsync((record, e) -> answer(exchange, shortName, job, r.name(), record, e), responders);
        });
    }

    private void answer(HttpServerExchange exchange, String shortName, String job, String name, ResultRecord record, Throwable e) {
        answered.incrementAndGet();
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
                    Handlers.fail(exchange, t, false);
                }
            }
        } catch (RuntimeException failed) {
            // the client went away while it waited: nothing to answer
            LOG.debug("Could not answer {} of job {}: {}", name, job, failed.toString());
            exchange.endExchange();
        }
    }
}
