package dev.imgscale.daemon.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.Prediction;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker daemon: long-polls the request queue, downloads and decodes each batch of images
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
 * <p><b>The pipeline.</b> Batches (one receive each, up to ten requests) go through three stages,
 * joined by hand-offs that hold nothing ({@link SynchronousQueue}s):
 * <pre>
 *   receive thread:    poll → parse, check jobs → download (io pool) ───────────────────────┐ hand-off
 *   classify threads:  decode (decode pool, in parallel) → infer (an engine stream)  ◄──────┘ ─┐ hand-off
 *   finish thread:     write results (io pool) → publish → stop heartbeat → delete → count  ◄───┘
 * </pre>
 * There is a classify thread per engine stream of the classifier ({@link Classifier#streams()}, by
 * default one per core, each running single-threaded forward passes), so as many batches are
 * classified at once as there are streams, and while they are, the next batch is received and
 * downloaded and a previous one's results are written, published and its requests deleted: the
 * network waits overlap the engine. Decoding runs in the classify stage just before each
 * inference, taking turns with the other streams' passes on the cores; only when the streams leave
 * cores free (fewer inference threads in all than processors, e.g. {@code --streams 1 --threads 1}
 * on 2 cores) are images decoded in the receive stage instead, on the free cores (see
 * {@link #decodeAhead(int, int)}). A stage hands a batch on only when the next stage takes it, so at
 * most streams + 2 batches are held at once (40 requests on 2 cores): the receive thread polls again
 * only after a classify thread takes its batch, which keeps the requests it takes early from the
 * other workers to one batch. Each batch moves through the explicit {@link Stage}s.
 *
 * <p>Invariants, whatever the stage:
 * <ul>
 *   <li>a request is deleted only after its result object is written and published (all in the
 *       finish stage, in that order, for the whole batch);</li>
 *   <li>every request held, including those received early for the next batch, has its visibility
 *       extended by the batch's heartbeat (every third of the visibility timeout, from the moment
 *       it is received) until its batch is deleted or left; the heartbeat is stopped, with no
 *       extension under way, before the deletes;</li>
 *   <li>{@link #inHand()} counts every request from its receive to its delete (or until it is left
 *       to come back).</li>
 * </ul>
 *
 * <p>Shutdown: {@link #beginShutdown()} stops receiving at once (a long poll under way is abandoned,
 * and requests it still brings are made visible again), and <em>everything already received is
 * finished</em>, including a batch received early for the next round: its images are downloaded
 * and likely decoded already, so finishing it (at most two batch times) is cheaper for the fleet
 * than handing it back, and there is one rule, "received means finished or left", instead of two.
 * Then {@link #run()} returns and the state is STOPPED. An idle worker so stops within moments,
 * which scaling a fleet to zero relies on.
 */
@ThreadSafe
public final class Worker {
    /** Where the worker is, as reported to the controller. */
    public enum State {
        /** Constructed; {@link #run()} has not begun. */
        STARTING,
        /** Waiting on the request queue, holding nothing. */
        POLLING,
        /** Holding requests in some stage of the pipeline. */
        WORKING,
        /** Shutdown has begun: no more requests will be received; those held are being finished. */
        DRAINING,
        /** {@link #run()} has returned. */
        STOPPED
    }

    /** Where a batch is in the pipeline; a batch only moves forward. */
    public enum Stage {
        /** Received; being parsed and its images downloaded (and decoded, when decoding ahead) on the receive thread. */
        PREPARING,
        /** Downloaded, waiting for the classify stage to take it: a batch received early for the next round. */
        PREPARED,
        /** Being decoded (unless decoded ahead) and classified. */
        CLASSIFYING,
        /** Classified, waiting for the finish thread to take it. */
        CLASSIFIED,
        /** Results being written and published, then the requests deleted. */
        FINISHING,
        /** Deleted (or left to come back): no longer held. */
        DONE
    }

    /** Error code of a result whose image is not in the input bucket. */
    public static final String MISSING = "MISSING";
    /** Error code of a result for a request that names its job and image but is otherwise unreadable. */
    public static final String MALFORMED = "MALFORMED";

    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    private static final Duration TOTALS_EVERY = Duration.ofMinutes(1);
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** Passed down the hand-offs after the last batch: the stage that takes it passes it on and ends. */
    private final Batch end = new Batch(List.of());

    private final Classifier classifier;
    private final WorkQueue requests;
    private final WorkQueue results;
    private final ObjectStore input;
    private final ObjectStore output;
    private final Clock clock;
    private final WorkerOptions options;
    /**
     * Whether images are decoded in the receive stage, beside the engine, rather than in the
     * classify stage just before inference: see {@link #decodeAhead(int, int)}.
     */
    private final boolean decodeAhead;
    /** Bounds the decoded images alive at once (each may be 150 MB) and the decoders running at once. */
    private final Semaphore decodeSlots;
    /** Batches classified at once: one per engine stream of the classifier. */
    private final int classifyStreams;
    /** Classify loops that have not yet seen the end of the receive stage. */
    private final AtomicInteger classifiersRunning;

    /** STARTING, POLLING (running) or STOPPED; {@link #state()} derives the rest. */
    private final AtomicReference<State> phase = new AtomicReference<>(State.STARTING);
    private final AtomicBoolean ran = new AtomicBoolean();
    /** Completed by {@link #beginShutdown()}; a poll under way is raced against it. */
    private final CompletableFuture<Void> shutdownRequested = new CompletableFuture<>();
    /** Completed when the first receive is issued, with the model loaded: how fast start is measured. */
    private final CompletableFuture<Long> firstPoll = new CompletableFuture<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** Prepared batches, from the receive thread to the classifier; holds nothing, so it bounds the read-ahead. */
    private final BlockingQueue<Batch> toClassify = new SynchronousQueue<>();
    /** Classified batches, from the classifier to the finish thread. */
    private final BlockingQueue<Batch> toFinish = new SynchronousQueue<>();
    /** Every batch received and not yet done: what the heartbeat covers and inHand counts. */
    private final Set<Batch> held = ConcurrentHashMap.newKeySet();

    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong left = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong busyNanos = new AtomicLong();
    /** Requests held right now, in any stage: what a controller reads from this worker's reports. */
    private final AtomicInteger inHand = new AtomicInteger();
    private volatile long idleSince;
    private volatile double msPerImage;
    /** System.nanoTime() when the finish thread last finished a batch, 0 before the first. */
    private volatile long lastFinishNanos;
    /** Clock millis of the last receive that brought requests or the last batch finished: the idle exit counts from it. */
    private volatile long lastWork;
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
        int processors = Runtime.getRuntime().availableProcessors();
        // every stream's threads: the cores the engines take when all of them run a pass
        int engineThreads = classifier.engineThreads() * classifier.streams();
        this.decodeAhead = decodeAhead(engineThreads, processors);
        this.classifyStreams = Math.max(1, classifier.streams());
        this.classifiersRunning = new AtomicInteger(classifyStreams);
        int decoders = Math.max(1, classifier.options().decodeThreads());
        this.decodeSlots = new Semaphore(decodeAhead ? Math.max(1, Math.min(decoders, processors - engineThreads)) : decoders);
    }

    /**
     * Whether to decode the next batch beside the engine (in the receive stage) rather than in the
     * classify stage, in parallel, just before each inference. Only when the engines leave cores
     * free ({@code engineThreads}, every stream's threads together, fewer than the processors, e.g.
     * {@code --streams 1 --threads 1}): otherwise a decoder
     * running beside the engine takes a core from one of its threads, and since the engine splits
     * each operator evenly over its threads, the whole pass then waits for the slowed one. Measured
     * on 2 cores (MobileNetV2 int8 on OpenCV DNN, 2 threads, under other load): decoding beside the
     * engine slowed inference from about 22 to 36 ms/image, which ate what the overlap saved; the
     * two ways came out the same within the noise (0.65-0.87 of the classifier alone decoding beside
     * the engine, 0.71-0.80 decoding before each inference, four runs each of
     * {@code imgscale bench pipeline}), so the simpler one stands: the CPU work takes turns on all
     * the cores. Downloads, result writes, publishing and deletes overlap the engine either way: they
     * wait on the network, not the cores. The system property {@code imgscale.worker.decodeAhead}
     * ({@code true} or {@code false}) overrides the rule, to measure one way against the other.
     */
    static boolean decodeAhead(int engineThreads, int processors) {
        String forced = System.getProperty("imgscale.worker.decodeAhead");
        if (forced != null) {
            return Boolean.parseBoolean(forced);
        }
        return engineThreads > 0 && engineThreads < processors;
    }

    /**
     * Runs the pipeline until {@link #beginShutdown()} or the idle exit, returning once every stage
     * has ended. A worker runs once.
     */
    public void run() {
        if (!ran.compareAndSet(false, true)) {
            throw new IllegalStateException("a Worker runs only once");
        }
        // Polls run on their own thread so that a shutdown need not wait out a 20 s long poll.
        ExecutorService poller = Executors.newSingleThreadExecutor(daemonThreads("imgscale-worker-poll"));
        ExecutorService io = Executors.newFixedThreadPool(options.downloadConcurrency(), daemonThreads("imgscale-worker-io"));
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemonThreads("imgscale-worker-timer"));
        ExecutorService decoders = Executors.newFixedThreadPool(decodeSlots.availablePermits(), daemonThreads("imgscale-worker-decode"));
        long every = TOTALS_EVERY.toMillis();
        timer.scheduleAtFixedRate(this::logTotals, every, every, TimeUnit.MILLISECONDS);
        LOG.info("Worker {} polling {} with model {} ({} engine, {} threads, batch {}): {} requests per poll, {} downloads and {} "
                        + "decode(s) at once{}, visibility {} s{}", options.workerId(), requests.name(), options.model(),
                classifier.engineName(), classifier.engineThreads(), classifier.options().batchSize(), options.maxMessages(),
                options.downloadConcurrency(), decodeSlots.availablePermits(), decodeAhead ? " beside the engine" : " before each inference",
                options.visibility().toSeconds(),
                options.idleExit() == null ? "" : ", idle exit after " + options.idleExit().toSeconds() + " s");
        Thread receiver = daemonThreads("imgscale-worker-receive").newThread(() -> receiveLoop(poller, io, timer));
        Thread finisher = daemonThreads("imgscale-worker-finish").newThread(() -> finishLoop(io));
        // the classify stage: one loop per engine stream, each on its own thread; this thread waits
        // for all of them to end, or for the first to fail
        List<Thread> streams = new ArrayList<>();
        List<CompletableFuture<Void>> classified = new ArrayList<>();
        CompletableFuture<Void> streamFailed = new CompletableFuture<>();
        for (int i = 0; i < classifyStreams; i++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            classified.add(done);
            streams.add(daemonThreads("imgscale-worker-classify").newThread(() -> {
                try {
                    classifyLoop(decoders);
                    done.complete(null);
                } catch (Throwable t) {
                    done.completeExceptionally(t);
                    streamFailed.completeExceptionally(t);
                }
            }));
        }
        boolean clean = false;
        try {
            lastWork = clock.millis();
            idleSince = lastWork;
            phase.set(State.POLLING);
            receiver.start();
            finisher.start();
            streams.forEach(Thread::start);
            awaitStreams(CompletableFuture.allOf(classified.toArray(CompletableFuture[]::new)), streamFailed);
            joinUninterruptibly(receiver);
            joinUninterruptibly(finisher);
            clean = true;
        } finally {
            if (!clean) {
                // An Error in the classify stage: stop the other stages rather than leave them blocked
                // on a hand-off forever. What they hold is left to come back.
                beginShutdown();
                receiver.interrupt();
                finisher.interrupt();
                streams.forEach(Thread::interrupt);
            }
            // Not shutdownNow: an abandoned poll should finish, so that what it brings is released.
            poller.shutdown();
            timer.shutdownNow();
            io.shutdownNow();
            decoders.shutdownNow();
            phase.set(State.STOPPED);
            LOG.info("Worker {} stopped: {} images ({} errors) in {} batches, {} left for redelivery, {} dropped", options.workerId(),
                    processed.get(), failed.get(), batches.get(), left.get(), cancelled.get());
            stopped.countDown();
        }
    }

    /**
     * Waits, uninterruptibly, until every classify stream has ended, or rethrows the first one's
     * failure (an Error: the streams catch everything else batch by batch).
     */
    private static void awaitStreams(CompletableFuture<Void> all, CompletableFuture<Void> failed) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    CompletableFuture.anyOf(all, failed).get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof Error error) {
                        throw error;
                    }
                    if (cause instanceof RuntimeException r) {
                        throw r;
                    }
                    throw new IllegalStateException("a classify stream failed", cause);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Stops receiving requests; every request already received is finished (results written,
     * requests deleted) before {@link #run()} returns, including those received early for the next
     * batch. Safe to call from any thread (a signal handler), any number of times.
     */
    public void beginShutdown() {
        shutdownRequested.complete(null);
    }

    /** Waits for {@link #run()} to return; true when it has. */
    public boolean awaitShutdown(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * STARTING, STOPPED, or while running: DRAINING once shutdown has begun, else WORKING while it
     * holds requests in any stage and POLLING when it holds none.
     */
    public State state() {
        State p = phase.get();
        if (p != State.POLLING) {
            return p;
        }
        if (shuttingDown()) {
            return State.DRAINING;
        }
        return inHand.get() > 0 ? State.WORKING : State.POLLING;
    }

    /**
     * Completes with the epoch millis of the first receive, issued once the model is loaded and the
     * pipeline running: the end of a worker's start.
     */
    public CompletableFuture<Long> firstPoll() {
        return firstPoll;
    }

    /** Requests finished with a result (labels or an error), written and published. */
    public long processed() {
        return processed.get();
    }

    /** Of the processed requests, those whose result is an error. */
    public long failed() {
        return failed.get();
    }

    /** Batches finished (or left whole). */
    public long batches() {
        return batches.get();
    }

    /** Requests received, each delivery counted. */
    public long received() {
        return received.get();
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

    /** How images are decoded, for reports: "N at once before each inference" or "N at once beside the engine". */
    public String decoding() {
        return decodeSlots.availablePermits() + " at once " + (decodeAhead ? "beside the engine" : "before each inference");
    }

    /** Requests held right now, in any stage (received, not yet deleted or left). */
    public int inHand() {
        return inHand.get();
    }

    /** The requests held right now in each stage (stages holding none are left out). */
    public Map<Stage, Integer> pipeline() {
        Map<Stage, Integer> out = new EnumMap<>(Stage.class);
        for (Batch b : held) {
            out.merge(b.stage, b.messages.size(), Integer::sum);
        }
        return out;
    }

    /** Epoch millis since when it has held nothing (0 before it starts polling). */
    public long idleSince() {
        return idleSince;
    }

    /**
     * Recent wall time per image as the pipeline delivers them: the time from the previous batch's
     * finish (or this batch's receive, if later) to this batch's finish, over its size; smoothed.
     * 0 until the first batch.
     */
    public double msPerImage() {
        return msPerImage;
    }

    private boolean shuttingDown() {
        return shutdownRequested.isDone();
    }

    // ---- stage 1: receive, download, decode ----------------------------------------------------

    private void receiveLoop(ExecutorService poller, ExecutorService io, ScheduledExecutorService timer) {
        try {
            Duration backoff = null;
            while (!shuttingDown()) {
                Duration wait = options.pollWait();
                if (options.idleExit() != null) {
                    long remaining = options.idleExit().toMillis() - (clock.millis() - lastWork);
                    if (remaining <= 0 && inHand.get() == 0) {
                        LOG.info("No request for {} s; exiting (idle exit)", options.idleExit().toSeconds());
                        return;
                    }
                    if (remaining < wait.toMillis()) {
                        // while later stages still hold a batch, poll at least a second at a time
                        wait = Duration.ofMillis(inHand.get() > 0 ? Math.max(remaining, 1000) : Math.max(remaining, 0));
                    }
                }
                List<QueueMessage> messages;
                try {
                    firstPoll.complete(clock.millis());
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
                Batch batch = hold(messages, timer);
                try {
                    prepare(batch, io);
                } catch (RuntimeException e) {
                    abandon(batch, "while " + batch.stage.name().toLowerCase(Locale.ROOT), e);
                    continue;
                }
                batch.stage = Stage.PREPARED;
                batch.preparedNanos = System.nanoTime();
                try {
                    toClassify.put(batch);
                } catch (InterruptedException e) {
                    // run() interrupts this stage only when the classify stage has failed: stop
                    abandon(batch, "the classify stage failed", null);
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        } finally {
            try {
                toClassify.put(end);
            } catch (InterruptedException e) {
                // the classify stage has failed and takes nothing more
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Takes the received requests into the worker's hands: counted, and kept invisible from now on. */
    private Batch hold(List<QueueMessage> messages, ScheduledExecutorService timer) {
        Batch batch = new Batch(messages);
        held.add(batch);
        inHand.addAndGet(messages.size());
        received.addAndGet(messages.size());
        lastWork = clock.millis();
        long beat = Math.max(1, options.heartbeat().toMillis());
        batch.heartbeat = timer.scheduleWithFixedDelay(batch::extend, beat, beat, TimeUnit.MILLISECONDS);
        return batch;
    }

    private void prepare(Batch batch, ExecutorService io) {
        for (QueueMessage m : batch.messages) {
            batch.items.add(parse(m));
        }
        checkJobs(batch.items);
        fetch(batch.items, io, decodeAhead);
    }

    // ---- stage 2: classify -------------------------------------------------------------------

    private void classifyLoop(ExecutorService decoders) {
        while (true) {
            Batch batch = takeUninterruptibly(toClassify);
            if (batch == end) {
                // the receive stage is done: the last stream to learn it tells the finish stage,
                // each other one passes the news to a sibling (which takes it once its batch is handed on)
                if (classifiersRunning.decrementAndGet() > 0) {
                    putUninterruptibly(toClassify, end);
                } else {
                    putUninterruptibly(toFinish, end);
                }
                return;
            }
            batch.stage = Stage.CLASSIFYING;
            batch.classifyNanos = System.nanoTime();
            try {
                if (!decodeAhead) {
                    decodeAll(batch.items, decoders);
                }
                batch.decodedNanos = System.nanoTime();
                classify(batch.items);
            } catch (RuntimeException e) {
                abandon(batch, "while " + batch.stage.name().toLowerCase(Locale.ROOT), e);
                continue;
            }
            batch.stage = Stage.CLASSIFIED;
            batch.classifiedNanos = System.nanoTime();
            putUninterruptibly(toFinish, batch);
        }
    }

    // ---- stage 3: write, publish, delete -------------------------------------------------------

    private void finishLoop(ExecutorService io) {
        while (true) {
            Batch batch;
            try {
                batch = toFinish.take();
            } catch (InterruptedException e) {
                // run() interrupts this stage only when the classify stage has failed: stop
                return;
            }
            if (batch == end) {
                return;
            }
            batch.stage = Stage.FINISHING;
            batch.finishNanos = System.nanoTime();
            try {
                finish(batch, io);
            } catch (RuntimeException e) {
                abandon(batch, "while " + batch.stage.name().toLowerCase(Locale.ROOT), e);
            }
        }
    }

    private void finish(Batch batch, ExecutorService io) {
        List<Item> items = batch.items;
        try {
            buildRecords(items);
            store(items, io);
            batch.storedNanos = System.nanoTime();
            announce(items);
            batch.announcedNanos = System.nanoTime();
        } finally {
            // No extension may run during or after the deletes (or, for a request left, extend it
            // after it was meant to come back).
            batch.stopHeartbeat();
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
        batch.deletedNanos = System.nanoTime();
        account(batch);
        forget(batch);
    }

    /** A batch that hit a bug (not a failure of S3 or SQS, which are handled per request): leave it whole. */
    private void abandon(Batch batch, String when, RuntimeException e) {
        if (batch.stage == Stage.DONE) {
            // it was finished and counted: only the bookkeeping after that failed
            LOG.error("After finishing a batch of {} request(s) ({})", batch.messages.size(), when, e);
            return;
        }
        batch.stopHeartbeat();
        left.addAndGet(batch.messages.size());
        batches.incrementAndGet();
        LOG.error("A batch of {} request(s) failed ({}); they will come back after the visibility timeout", batch.messages.size(),
                when, e);
        forget(batch);
    }

    /** The batch is no longer held: uncounted, and the worker idle if it was the last. */
    private void forget(Batch batch) {
        batch.stage = Stage.DONE;
        if (!held.remove(batch)) {
            return; // already forgotten: a failure after the batch was finished must not uncount it twice
        }
        long now = clock.millis();
        lastWork = now;
        if (inHand.addAndGet(-batch.messages.size()) == 0) {
            idleSince = now;
        }
    }

    // ---- hand-offs -----------------------------------------------------------------------------

    /**
     * Puts a batch to the next stage, waiting until it takes it. The classify stage uses this: the
     * finish stage always runs until it takes the end marker (it is interrupted only after the
     * classify stage has failed), so this returns, and a batch is never dropped between them.
     */
    private static void putUninterruptibly(BlockingQueue<Batch> queue, Batch batch) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    queue.put(batch);
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Batch takeUninterruptibly(BlockingQueue<Batch> queue) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return queue.take();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
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
        /** The downloaded image, until it is decoded. */
        byte[] bytes;
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


    /**
     * One receive's requests as they go through the pipeline. Its items are touched by one stage
     * at a time (the hand-offs order those accesses); its stage is read by {@link #pipeline()}.
     */
    private final class Batch {
        final List<QueueMessage> messages;
        final List<Item> items = new ArrayList<>();
        final long receivedNanos = System.nanoTime();
        volatile Stage stage = Stage.PREPARING;
        ScheduledFuture<?> heartbeat;
        long preparedNanos;
        long classifyNanos;
        long decodedNanos;
        long classifiedNanos;
        long finishNanos;
        long storedNanos;
        long announcedNanos;
        long deletedNanos;
        /** Guarded by this: once true, no extension starts, and none is under way. */
        private boolean heartbeatStopped;

        Batch(List<QueueMessage> messages) {
            this.messages = messages;
        }

        /** The heartbeat: keeps every request of the batch invisible for another visibility timeout. */
        synchronized void extend() {
            if (heartbeatStopped) {
                return;
            }
            try {
                requests.extendVisibility(messages, options.visibility());
                LOG.debug("Extended the visibility of {} request(s) ({}) by {} s", messages.size(), stage,
                        options.visibility().toSeconds());
            } catch (RuntimeException e) {
                // Keep beating: the next extension may get through before the visibility expires.
                LOG.warn("Could not extend the visibility of {} request(s) in hand: {}", messages.size(), e.toString());
            }
        }

        /** After this no extension starts, and none is under way: the requests may be deleted (or come back). */
        void stopHeartbeat() {
            synchronized (this) {
                heartbeatStopped = true;
            }
            if (heartbeat != null) {
                heartbeat.cancel(false);
            }
        }
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

    /**
     * Downloads the batch's images concurrently on the io pool; with {@code decode}, each is also
     * decoded as soon as it arrives (within the decode slots).
     */
    private void fetch(List<Item> items, ExecutorService io, boolean decode) {
        runEach(items, io, item -> {
            fetch(item);
            if (decode) {
                decode(item);
            }
        }, "cannot download or decode");
    }

    /** Decodes the downloaded images of the batch in parallel on the decode pool, within the decode slots. */
    private void decodeAll(List<Item> items, ExecutorService decoders) {
        runEach(items, decoders, this::decode, "cannot decode");
    }

    /** Runs the task for each pending item on the pool and waits for all of them. */
    private void runEach(List<Item> items, ExecutorService pool, java.util.function.Consumer<Item> task, String what) {
        List<Item> pending = new ArrayList<>();
        List<Future<?>> futures = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == Disposition.PENDING) {
                pending.add(item);
                futures.add(pool.submit(() -> task.accept(item)));
            }
        }
        for (int i = 0; i < futures.size(); i++) {
            try {
                futures.get(i).get();
            } catch (ExecutionException e) {
                // the tasks catch runtime exceptions: this is an Error (out of memory...)
                pending.get(i).leave(what + ": " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                beginShutdown();
                pending.get(i).leave("interrupted");
            }
        }
    }

    private void fetch(Item item) {
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
        item.bytes = bytes.get();
    }

    private void decode(Item item) {
        if (item.disposition != Disposition.PENDING || item.bytes == null) {
            return;
        }
        decodeSlots.acquireUninterruptibly();
        try {
            item.tensor = classifier.prepare(item.bytes);
        } catch (ImageRejectedException e) {
            item.fail(e.code().name(), e.getMessage());
        } catch (RuntimeException e) {
            // Not the image's known fault: retry, and let the dead-letter queue stop a repeat offender.
            item.leave("cannot decode: " + e);
        } finally {
            decodeSlots.release();
            item.bytes = null;
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

    private void account(Batch batch) {
        List<Item> items = batch.items;
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
        // What the pipeline delivers: the time since the previous batch left it, or since this one
        // came in if the worker was idle in between. Summed, it is the time the worker was busy.
        long previous = lastFinishNanos;
        long delivered = batch.deletedNanos - Math.max(previous, batch.receivedNanos);
        lastFinishNanos = batch.deletedNanos;
        busyNanos.addAndGet(delivered);
        double perImage = delivered / 1e6 / items.size();
        msPerImage = msPerImage == 0 ? perImage : 0.7 * msPerImage + 0.3 * perImage;
        double latency = (batch.deletedNanos - batch.receivedNanos) / 1e6;
        LOG.info(String.format(Locale.ROOT, "Batch %d: %d images, %.1f images/s (%.0f ms since the last batch, %.0f ms in hand;"
                        + " %d labelled, %d errors, %d left, %d dropped; %s %.0f ms, wait %.0f ms, %sinfer %.0f ms, wait %.0f ms,"
                        + " store %.0f ms, publish %.0f ms, delete %.0f ms)",
                n, items.size(), items.size() * 1e9 / Math.max(delivered, 1), delivered / 1e6, latency, ok, errors, leaving, dropped,
                decodeAhead ? "fetch+decode" : "fetch", ms(batch.receivedNanos, batch.preparedNanos),
                ms(batch.preparedNanos, batch.classifyNanos),
                decodeAhead ? "" : String.format(Locale.ROOT, "decode %.0f ms, ", ms(batch.classifyNanos, batch.decodedNanos)),
                ms(batch.decodedNanos, batch.classifiedNanos), ms(batch.classifiedNanos, batch.finishNanos),
                ms(batch.finishNanos, batch.storedNanos), ms(batch.storedNanos, batch.announcedNanos),
                ms(batch.announcedNanos, batch.deletedNanos)));
        if (leaving > 0) {
            LOG.warn("Left {} request(s) to come back after the visibility timeout, e.g. {}", leaving, firstLeave);
        }
    }

    private static double ms(long from, long to) {
        return from == 0 || to == 0 ? 0 : (to - from) / 1e6;
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
