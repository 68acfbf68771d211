package dev.imgscale.daemon.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.Prediction;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.daemon.client.ImageNames;
import dev.imgscale.daemon.job.ImageRequest;
import dev.imgscale.daemon.job.JobId;
import dev.imgscale.daemon.job.Json;
import dev.imgscale.daemon.job.Keys;
import dev.imgscale.daemon.job.ResultRecord;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker daemon's loop: long-polls the request queue, downloads and decodes a batch of images
 * concurrently, classifies the good ones in one call, writes one result object per request to the
 * output bucket, publishes the results on the result queue, and only then deletes the requests.
 *
 * <p>What becomes of a request:
 * <ul>
 *   <li>labelled, or an error result for an image the classifier rejects (the
 *       {@link dev.imgscale.classifier.decode.ErrorCode} name), for a missing image
 *       ({@value #MISSING}) or for a request whose job and name can be read but not the rest
 *       ({@value #MALFORMED}): the result is written, published, and the request deleted, so it is
 *       never retried;</li>
 *   <li>a request of a job whose manifest is gone (the job was reset) is deleted without a result;</li>
 *   <li>anything else (S3 or SQS failing, the engine failing, a body that names no job and image)
 *       leaves the request alone: it comes back when its visibility times out and, after the queue's
 *       maximum receives, lands in the dead-letter queue.</li>
 * </ul>
 * A result is written under a key derived from the job and the image name, so a redelivered
 * request overwrites the same object: each image has one result however often it is processed,
 * including when a worker is killed between writing results and deleting requests.
 *
 * <p>While a batch is in hand a heartbeat extends the requests' visibility every third of the
 * visibility timeout. The loop's state changes on the loop's own thread, except that
 * {@link #beginShutdown()} marks a batch in hand as DRAINING. Shutdown: {@link #beginShutdown()}
 * stops receiving at once (a long poll under way is abandoned, and requests it still brings are
 * made visible again), the batch in hand is finished, then {@link #run()} returns and the state
 * is STOPPED. An idle worker so stops within moments, which scaling a fleet to zero relies on.
 */
@ThreadSafe
public final class Worker {
    /** Where the worker is in its loop. */
    public enum State {
        /** Constructed; {@link #run()} has not begun. */
        STARTING,
        /** Waiting on the request queue. */
        POLLING,
        /** Handling a batch of requests. */
        WORKING,
        /** Handling the last batch: shutdown has begun and no more requests will be received. */
        DRAINING,
        /** {@link #run()} has returned. */
        STOPPED
    }

    /** Error code of a result whose image is not in the input bucket. */
    public static final String MISSING = "MISSING";
    /** Error code of a result for a request that names its job and image but is otherwise unreadable. */
    public static final String MALFORMED = "MALFORMED";

    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    private static final Duration TOTALS_EVERY = Duration.ofMinutes(1);
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final Classifier classifier;
    private final WorkQueue requests;
    private final WorkQueue results;
    private final ObjectStore input;
    private final ObjectStore output;
    private final Clock clock;
    private final WorkerOptions options;
    /** Bounds the decoded images alive at once (each may be 150 MB) to the classifier's decode threads. */
    private final Semaphore decodeSlots;

    private final AtomicReference<State> state = new AtomicReference<>(State.STARTING);
    private final AtomicBoolean ran = new AtomicBoolean();
    /** Completed by {@link #beginShutdown()}; a poll under way is raced against it. */
    private final CompletableFuture<Void> shutdownRequested = new CompletableFuture<>();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong left = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong busyNanos = new AtomicLong();
    /** What a controller reads from this worker's reports. */
    private final java.util.concurrent.atomic.AtomicInteger inHand = new java.util.concurrent.atomic.AtomicInteger();
    private volatile long idleSince;
    private volatile double msPerImage;
    private long reportedProcessed;

    public Worker(Classifier classifier, WorkQueue requests, WorkQueue results, ObjectStore input, ObjectStore output, Clock clock,
                  WorkerOptions options) {
        this.classifier = Objects.requireNonNull(classifier, "classifier");
        this.requests = Objects.requireNonNull(requests, "requests");
        this.results = Objects.requireNonNull(results, "results");
        this.input = Objects.requireNonNull(input, "input");
        this.output = Objects.requireNonNull(output, "output");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.options = Objects.requireNonNull(options, "options");
        this.decodeSlots = new Semaphore(Math.max(1, classifier.options().decodeThreads()));
    }

    /**
     * Runs the loop on the calling thread until {@link #beginShutdown()} or the idle exit. A
     * worker runs once.
     */
    public void run() {
        if (!ran.compareAndSet(false, true)) {
            throw new IllegalStateException("a Worker runs only once");
        }
        // Polls run on their own thread so that a shutdown need not wait out a 20 s long poll.
        ExecutorService poller = Executors.newSingleThreadExecutor(daemonThreads("imgscale-worker-poll"));
        ExecutorService io = Executors.newFixedThreadPool(options.downloadConcurrency(), daemonThreads("imgscale-worker-io"));
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemonThreads("imgscale-worker-timer"));
        long every = TOTALS_EVERY.toMillis();
        timer.scheduleAtFixedRate(this::logTotals, every, every, TimeUnit.MILLISECONDS);
        LOG.info("Worker {} polling {} with model {} ({} engine): {} requests per poll, visibility {} s{}", options.workerId(),
                requests.name(), options.model(), classifier.engineName(), options.maxMessages(), options.visibility().toSeconds(),
                options.idleExit() == null ? "" : ", idle exit after " + options.idleExit().toSeconds() + " s");
        try {
            loop(poller, io, timer);
        } finally {
            // Not shutdownNow: an abandoned poll should finish, so that what it brings is released.
            poller.shutdown();
            timer.shutdownNow();
            io.shutdownNow();
            state.set(State.STOPPED);
            LOG.info("Worker {} stopped: {} images ({} errors) in {} batches, {} left for redelivery, {} dropped", options.workerId(),
                    processed.get(), failed.get(), batches.get(), left.get(), cancelled.get());
            stopped.countDown();
        }
    }

    /**
     * Stops receiving requests; the batch in hand is finished (results written, requests deleted)
     * before {@link #run()} returns. Safe to call from any thread (a signal handler), any number of
     * times.
     */
    public void beginShutdown() {
        shutdownRequested.complete(null);
        state.compareAndSet(State.WORKING, State.DRAINING);
    }

    /** Waits for {@link #run()} to return; true when it has. */
    public boolean awaitShutdown(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public State state() {
        return state.get();
    }

    /** Requests finished with a result (labels or an error), written and published. */
    public long processed() {
        return processed.get();
    }

    /** Of the processed requests, those whose result is an error. */
    public long failed() {
        return failed.get();
    }

    /** Batches handled. */
    public long batches() {
        return batches.get();
    }

    /** Receives that ended without deleting the request, which will come back (or go to the dead-letter queue). */
    public long left() {
        return left.get();
    }

    /** Requests deleted without a result because their job no longer exists. */
    public long cancelled() {
        return cancelled.get();
    }

    public WorkerOptions options() {
        return options;
    }

    /** Requests held right now (received, not yet deleted or left). */
    public int inHand() {
        return inHand.get();
    }

    /** Epoch millis since when it has held nothing (0 before it starts polling). */
    public long idleSince() {
        return idleSince;
    }

    /** Recent wall time per image, batch time over batch size (0 until the first batch). */
    public double msPerImage() {
        return msPerImage;
    }

    private boolean shuttingDown() {
        return shutdownRequested.isDone();
    }

    private void loop(ExecutorService poller, ExecutorService io, ScheduledExecutorService timer) {
        state.set(State.POLLING);
        long lastWork = clock.millis();
        idleSince = lastWork;
        Duration backoff = null;
        while (!shuttingDown()) {
            Duration wait = options.pollWait();
            if (options.idleExit() != null) {
                long remaining = options.idleExit().toMillis() - (clock.millis() - lastWork);
                if (remaining <= 0) {
                    LOG.info("No request for {} s; exiting (idle exit)", options.idleExit().toSeconds());
                    return;
                }
                if (remaining < wait.toMillis()) {
                    wait = Duration.ofMillis(remaining);
                }
            }
            List<QueueMessage> messages;
            try {
                messages = poll(poller, wait);
                backoff = null;
            } catch (RuntimeException e) {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                backoff = backoff == null ? FIRST_BACKOFF : min(backoff.multipliedBy(2), MAX_BACKOFF);
                LOG.warn("Cannot receive from {} ({}); trying again in {} s", requests.name(), cause.toString(), backoff.toSeconds());
                pause(backoff);
                continue;
            }
            if (messages == null) {
                return;
            }
            if (messages.isEmpty()) {
                continue;
            }
            lastWork = clock.millis();
            state.set(State.WORKING);
            if (shuttingDown()) {
                state.compareAndSet(State.WORKING, State.DRAINING);
            }
            inHand.set(messages.size());
            long started = System.nanoTime();
            try {
                handle(messages, io, timer);
                double perImage = (System.nanoTime() - started) / 1e6 / messages.size();
                msPerImage = msPerImage == 0 ? perImage : 0.7 * msPerImage + 0.3 * perImage;
            } catch (RuntimeException e) {
                // A bug, not a failure of S3 or SQS (those are handled per request): the requests
                // were not deleted, so they come back and, if this repeats, go to the dead-letter queue.
                left.addAndGet(messages.size());
                LOG.error("A batch of {} request(s) failed; they will come back after the visibility timeout", messages.size(), e);
                pause(FIRST_BACKOFF);
            }
            inHand.set(0);
            lastWork = clock.millis();
            idleSince = lastWork;
            state.compareAndSet(State.WORKING, State.POLLING);
        }
    }

    /**
     * One long poll, or null when shutdown begins first. The poll is then abandoned rather than
     * waited out (it may have 20 s to go), and whatever it still brings is made visible again at
     * once, so that another worker takes it without waiting for the visibility timeout.
     *
     * @throws CompletionException when the receive fails
     */
    private List<QueueMessage> poll(ExecutorService poller, Duration wait) {
        CompletableFuture<List<QueueMessage>> poll = CompletableFuture.supplyAsync(
                () -> requests.receive(options.maxMessages(), wait, options.visibility()), poller);
        try {
            CompletableFuture.anyOf(poll, shutdownRequested).join();
        } catch (CompletionException e) {
            // the poll failed: join() below rethrows it
        }
        if (poll.isDone()) {
            return poll.join();
        }
        poll.thenAccept(this::release);
        return null;
    }

    /** Gives back requests received after shutdown began: visible to other workers at once. */
    private void release(List<QueueMessage> late) {
        if (late.isEmpty()) {
            return;
        }
        try {
            requests.extendVisibility(late, Duration.ZERO);
            LOG.info("Released {} request(s) received after shutdown began", late.size());
        } catch (RuntimeException e) {
            LOG.warn("Could not release {} request(s) received after shutdown began; they come back after the visibility timeout: {}",
                    late.size(), e.toString());
        }
    }

    /** Waits out a backoff, returning early when shutdown begins. */
    private void pause(Duration d) {
        try {
            shutdownRequested.get(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // the backoff is over
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            beginShutdown();
        }
    }

    /** What becomes of one request of the batch. */
    private enum Disposition {
        /** Still being worked on. */
        PENDING,
        /** Has a result (labels or error): write it, publish it, delete the request. */
        RESULT,
        /** Its job is gone: delete the request, no result. */
        CANCELLED,
        /** Leave the request to come back after its visibility timeout. */
        LEAVE
    }

    /** One request of a batch, as it goes through the stages. Touched by one thread at a time. */
    private static final class Item {
        final QueueMessage message;
        ImageRequest request;
        String job;
        String name;
        Disposition disposition = Disposition.PENDING;
        float[] tensor;
        List<Prediction> top;
        String error;
        String errorMessage;
        String leaveReason;
        ResultRecord record;

        Item(QueueMessage message) {
            this.message = message;
        }

        void fail(String code, String message) {
            disposition = Disposition.RESULT;
            error = code;
            errorMessage = message;
        }

        void leave(String reason) {
            disposition = Disposition.LEAVE;
            leaveReason = reason;
        }
    }

    /** The requests in hand, whose visibility the heartbeat extends until the batch is done with them. */
    private final class InHand {
        private final List<QueueMessage> messages;
        private boolean done;

        InHand(List<QueueMessage> messages) {
            this.messages = messages;
        }

        synchronized void extend() {
            if (done) {
                return;
            }
            try {
                requests.extendVisibility(messages, options.visibility());
                LOG.debug("Extended the visibility of {} request(s) by {} s", messages.size(), options.visibility().toSeconds());
            } catch (RuntimeException e) {
                // Keep beating: the next extension may get through before the visibility expires.
                LOG.warn("Could not extend the visibility of the {} request(s) in hand: {}", messages.size(), e.toString());
            }
        }

        /** After this no extension starts, and none is under way: the requests may be deleted. */
        synchronized void finish() {
            done = true;
        }
    }

    private void handle(List<QueueMessage> messages, ExecutorService io, ScheduledExecutorService timer) {
        long t0 = System.nanoTime();
        InHand inHand = new InHand(messages);
        long beat = Math.max(1, options.heartbeat().toMillis());
        ScheduledFuture<?> heartbeat = timer.scheduleWithFixedDelay(inHand::extend, beat, beat, TimeUnit.MILLISECONDS);
        List<Item> items = new ArrayList<>(messages.size());
        long tFetched;
        long tClassified;
        long tStored;
        long tAnnounced;
        try {
            for (QueueMessage m : messages) {
                items.add(parse(m));
            }
            checkJobs(items);
            fetchAndPrepare(items, io);
            tFetched = System.nanoTime();
            classify(items);
            tClassified = System.nanoTime();
            buildRecords(items);
            store(items, io);
            tStored = System.nanoTime();
            announce(items);
            tAnnounced = System.nanoTime();
        } finally {
            inHand.finish();
            heartbeat.cancel(false);
        }
        List<QueueMessage> done = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.RESULT || item.disposition == Disposition.CANCELLED) {
                done.add(item.message);
            }
        }
        if (!done.isEmpty()) {
            try {
                requests.delete(done);
            } catch (RuntimeException e) {
                // The results are stored: a request that comes back is handled again and its result
                // overwritten with the same answer, so this costs time, not correctness.
                LOG.warn("Could not delete handled requests (they will be handled again): {}", e.toString());
            }
        }
        long tDeleted = System.nanoTime();
        account(items, t0, tFetched, tClassified, tStored, tAnnounced, tDeleted);
    }

    /** Reads the request; an item whose job and name are unknown is left for the dead-letter queue. */
    private Item parse(QueueMessage m) {
        Item item = new Item(m);
        try {
            ImageRequest r = Json.read(m.body(), ImageRequest.class);
            if (r.v() != ImageRequest.VERSION) {
                return malformed(item, m, "request version " + r.v() + " (this worker reads version " + ImageRequest.VERSION + ")");
            }
            if (!safeJobAndName(r.job(), r.name())) {
                return malformed(item, m, "job '" + r.job() + "' or image name '" + r.name() + "' cannot be used in a key");
            }
            item.request = r;
            item.job = r.job();
            item.name = r.name();
        } catch (RuntimeException e) {
            return malformed(item, m, e.getMessage());
        }
        return item;
    }

    /** A result for the request if its job and name can still be read, else leave it to be dead-lettered. */
    private Item malformed(Item item, QueueMessage m, String reason) {
        String job = null;
        String name = null;
        try {
            JsonNode node = Json.read(m.body(), JsonNode.class);
            job = node.path("job").isTextual() ? node.get("job").asText() : null;
            name = node.path("name").isTextual() ? node.get("name").asText() : null;
        } catch (RuntimeException e) {
            // not JSON at all
        }
        if (safeJobAndName(job, name)) {
            item.job = job;
            item.name = name;
            item.fail(MALFORMED, "the request could not be read: " + reason);
        } else {
            LOG.warn("Message {} (receive {}) is not an imgscale request; leaving it for the dead-letter queue: {}", m.id(),
                    m.receiveCount(), reason);
            item.leave("not an imgscale request");
        }
        return item;
    }

    /** Whether the pair makes keys that stay inside the job's prefix, as the uploader's names do. */
    private static boolean safeJobAndName(String job, String name) {
        return JobId.valid(job) && name != null && !name.isEmpty() && ImageNames.sanitise(name).equals(name);
    }

    /** Requests of a job whose manifest is gone were reset: drop them instead of writing results. */
    private void checkJobs(List<Item> items) {
        Map<String, Optional<Boolean>> alive = new HashMap<>();
        for (Item item : items) {
            if (item.job == null || item.disposition == Disposition.LEAVE) {
                continue;
            }
            Optional<Boolean> exists = alive.computeIfAbsent(item.job, job -> {
                try {
                    return Optional.of(output.exists(Keys.manifest(job)));
                } catch (RuntimeException e) {
                    LOG.debug("Cannot check the manifest of job {}: {}", job, e.toString());
                    return Optional.empty();
                }
            });
            if (exists.isEmpty()) {
                item.leave("cannot read the job's manifest");
            } else if (!exists.get()) {
                item.disposition = Disposition.CANCELLED;
            }
        }
        alive.forEach((job, exists) -> {
            if (exists.isPresent() && !exists.get()) {
                LOG.info("Dropping requests of job {}: its manifest is gone (the job was reset)", job);
            }
        });
    }

    private void fetchAndPrepare(List<Item> items, ExecutorService io) {
        List<Item> pending = new ArrayList<>();
        List<Future<?>> futures = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.PENDING) {
                pending.add(item);
                futures.add(io.submit(() -> fetchAndPrepare(item)));
            }
        }
        for (int i = 0; i < futures.size(); i++) {
            try {
                futures.get(i).get();
            } catch (ExecutionException e) {
                // fetchAndPrepare catches runtime exceptions: this is an Error (out of memory...).
                pending.get(i).leave("cannot download or decode: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                beginShutdown();
                pending.get(i).leave("interrupted");
            }
        }
    }

    private void fetchAndPrepare(Item item) {
        String key = Keys.input(item.job, item.name);
        Optional<byte[]> bytes;
        try {
            bytes = input.get(key, classifier.options().limits().maxBytes());
        } catch (ObjectTooLargeException e) {
            item.fail(ErrorCode.TOO_LARGE.name(), "the image has " + e.size() + " bytes, over the " + e.limit() + "-byte limit");
            return;
        } catch (RuntimeException e) {
            item.leave("cannot download " + key + ": " + e);
            return;
        }
        if (bytes.isEmpty()) {
            item.fail(MISSING, "the image " + key + " is not in bucket " + input.name());
            return;
        }
        decodeSlots.acquireUninterruptibly();
        try {
            item.tensor = classifier.prepare(bytes.get());
        } catch (ImageRejectedException e) {
            item.fail(e.code().name(), e.getMessage());
        } catch (RuntimeException e) {
            // Not the image's known fault: retry, and let the dead-letter queue stop a repeat offender.
            item.leave("cannot decode: " + e);
        } finally {
            decodeSlots.release();
        }
    }

    private void classify(List<Item> items) {
        List<Item> ready = new ArrayList<>();
        List<float[]> tensors = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.PENDING && item.tensor != null) {
                ready.add(item);
                tensors.add(item.tensor);
            }
        }
        if (ready.isEmpty()) {
            return;
        }
        List<List<Prediction>> predictions;
        try {
            predictions = classifier.infer(tensors);
        } catch (RuntimeException e) {
            LOG.error("Inference failed on a batch of {} image(s); leaving them to be retried", ready.size(), e);
            for (Item item : ready) {
                item.leave("inference failed: " + e);
            }
            return;
        }
        for (int i = 0; i < ready.size(); i++) {
            Item item = ready.get(i);
            item.top = predictions.get(i);
            item.tensor = null;
            item.disposition = Disposition.RESULT;
        }
    }

    private void buildRecords(List<Item> items) {
        long now = clock.millis();
        for (Item item : items) {
            if (item.disposition != Disposition.RESULT) {
                continue;
            }
            Long latency = item.request != null && item.request.sentAt() > 0 ? now - item.request.sentAt() : null;
            int receives = item.message.receiveCount();
            if (item.error != null) {
                item.record = new ResultRecord(ResultRecord.VERSION, item.job, item.name, null, null, null, item.error,
                        item.errorMessage, options.model(), options.workerId(), receives, now, latency);
            } else {
                List<ResultRecord.Label> top = new ArrayList<>(item.top.size());
                for (Prediction p : item.top) {
                    top.add(new ResultRecord.Label(p.label(), p.probability(), p.classIndex()));
                }
                Prediction best = item.top.get(0);
                item.record = new ResultRecord(ResultRecord.VERSION, item.job, item.name, best.label(), best.probability(), top, null,
                        null, options.model(), options.workerId(), receives, now, latency);
            }
        }
    }

    /** Writes the result objects concurrently; a result that cannot be written leaves its request. */
    private void store(List<Item> items, ExecutorService io) {
        List<Item> writing = new ArrayList<>();
        List<Future<?>> futures = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.RESULT) {
                writing.add(item);
                futures.add(io.submit(() -> output.put(Keys.result(item.job, item.name), Json.bytes(item.record), "application/json")));
            }
        }
        for (int i = 0; i < futures.size(); i++) {
            try {
                futures.get(i).get();
            } catch (ExecutionException e) {
                writing.get(i).leave("cannot store the result: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                beginShutdown();
                writing.get(i).leave("interrupted");
            }
        }
    }

    /** Publishes the stored results; if that fails, the requests stay, to be handled (and published) again. */
    private void announce(List<Item> items) {
        List<Item> stored = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.RESULT) {
                stored.add(item);
                bodies.add(Json.write(item.record));
            }
        }
        if (bodies.isEmpty()) {
            return;
        }
        try {
            results.send(bodies);
        } catch (RuntimeException e) {
            for (Item item : stored) {
                item.leave("cannot publish the result: " + e);
            }
        }
    }

    private void account(List<Item> items, long t0, long tFetched, long tClassified, long tStored, long tAnnounced, long tDeleted) {
        int ok = 0;
        int errors = 0;
        int leaving = 0;
        int dropped = 0;
        String firstLeave = null;
        for (Item item : items) {
            switch (item.disposition) {
                case RESULT -> {
                    if (item.error == null) {
                        ok++;
                    } else {
                        errors++;
                        LOG.debug("{}/{}: {} ({})", item.job, item.name, item.error, item.errorMessage);
                    }
                }
                case CANCELLED -> dropped++;
                default -> {
                    leaving++;
                    if (firstLeave == null) {
                        firstLeave = (item.name == null ? item.message.id() : item.name) + ": " + item.leaveReason;
                    }
                }
            }
        }
        processed.addAndGet(ok + errors);
        failed.addAndGet(errors);
        left.addAndGet(leaving);
        cancelled.addAndGet(dropped);
        long n = batches.incrementAndGet();
        long nanos = tDeleted - t0;
        busyNanos.addAndGet(nanos);
        double ms = nanos / 1e6;
        LOG.info(String.format("Batch %d: %d images in %.0f ms, %.1f images/s (%d labelled, %d errors, %d left, %d dropped;"
                        + " fetch+decode %.0f ms, infer %.0f ms, store %.0f ms, publish %.0f ms, delete %.0f ms)",
                n, items.size(), ms, items.size() * 1000.0 / Math.max(ms, 0.001), ok, errors, leaving, dropped,
                (tFetched - t0) / 1e6, (tClassified - tFetched) / 1e6, (tStored - tClassified) / 1e6,
                (tAnnounced - tStored) / 1e6, (tDeleted - tAnnounced) / 1e6));
        if (leaving > 0) {
            LOG.warn("Left {} request(s) to come back after the visibility timeout, e.g. {}", leaving, firstLeave);
        }
    }

    private synchronized void logTotals() {
        long now = processed.get();
        long lastMinute = now - reportedProcessed;
        reportedProcessed = now;
        double busySeconds = busyNanos.get() / 1e9;
        LOG.info(String.format("Totals: %d images (%d errors) in %d batches; %d in the last minute (%.1f images/s);"
                        + " %.1f images/s while busy", now, failed.get(), batches.get(), lastMinute,
                lastMinute / (double) TOTALS_EVERY.toSeconds(), busySeconds > 0 ? now / busySeconds : 0.0));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicLong count = new AtomicLong();
        return r -> {
            Thread t = new Thread(r, name + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
