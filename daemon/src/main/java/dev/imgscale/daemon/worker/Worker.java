package dev.imgscale.daemon.worker;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.classifier.concurrent.Uninterruptibly;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerUsage;
import dev.imgscale.daemon.worker.stage.Batch;
import dev.imgscale.daemon.worker.stage.BatchStage;
import dev.imgscale.daemon.worker.stage.ClassifyHandOff;
import dev.imgscale.daemon.worker.stage.ClassifyStage;
import dev.imgscale.daemon.worker.stage.DecodePlacement;
import dev.imgscale.daemon.worker.stage.Decoder;
import dev.imgscale.daemon.worker.stage.FinishStage;
import dev.imgscale.daemon.worker.stage.ImageClassifier;
import dev.imgscale.daemon.worker.stage.InHand;
import dev.imgscale.daemon.worker.stage.ReceiveStage;
import dev.imgscale.daemon.worker.stage.Results;
import dev.imgscale.daemon.worker.stage.ShutdownSignal;
import dev.imgscale.daemon.worker.stage.WorkerCounters;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker daemon: long-polls the request queue, downloads and decodes each batch of images
 * concurrently, classifies the good ones in one call, holds the results until a flush (N images,
 * a few seconds, nothing else in hand, or stopping), writes them as one JSON Lines object per job
 * ({@link dev.imgscale.daemon.wire.ResultBatch}), sends one notice per object on the result queue,
 * and only then deletes the requests.
 * This class is its life (start, run, drain, stop) and its state; the stages are in
 * {@link dev.imgscale.daemon.worker.stage}.
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
 *       leaves the request alone (released on failure): it comes back when its visibility times
 *       out and, after the queue's maximum receives, lands in the dead-letter queue.</li>
 * </ul>
 * A worker killed between writing an object and deleting its requests leaves those requests to
 * come back: whoever handles them writes their rows again in another object, and every reader keeps
 * one row per image name. Nothing is lost; a name may be stored twice, never printed twice.
 *
 * <p><b>The pipeline.</b> Batches (one receive each, up to ten requests) go through three stages,
 * joined by hand-offs that hold nothing ({@link SynchronousQueue}s):
 * <pre>
 *   receive thread:    poll → parse, check jobs → download (io pool) ───────────────────────┐ hand-off
 *   classify threads:  decode (decode pool, in parallel) → infer (an engine stream)  ◄──────┘ ─┐ hand-off
 *   finish thread:     hold until the flush → write one object per job → notice → stop heartbeats → delete → count  ◄───┘
 * </pre>
 * There is a classify thread per engine stream of the classifier, so as many batches are
 * classified at once as there are streams, and while they are, the next batch is received and
 * downloaded and a previous one's results are written, published and its requests deleted: the
 * network waits overlap the engine. Where images are decoded is {@link DecodePlacement}'s rule. A
 * stage hands a batch on only when the next stage takes it, so at most streams + 2 batches are
 * held at once besides those whose results wait in the finish stage for the flush (at most the
 * flush size, 100 images by default, and only while more work is in hand): the receive thread polls again only after a classify thread takes its batch,
 * which keeps the requests it takes early from the other workers to one batch.
 *
 * <p>Invariants, whatever the stage:
 * <ul>
 *   <li>a request is deleted only after the object holding its row is written (all in the finish
 *       stage, in that order, for every batch of the flush); a request whose object could not be
 *       written is left to come back;</li>
 *   <li>every request held, including those received early for the next batch, has its visibility
 *       extended by the batch's heartbeat (every third of the visibility timeout, from the moment
 *       it is received) until its batch is deleted or left; the heartbeat is stopped, with no
 *       extension under way, before the deletes;</li>
 *   <li>{@link #inHand()} counts every request from its receive to its delete (or until it is left
 *       to come back).</li>
 * </ul>
 *
 * <p>Shutdown (SIGTERM, or the controller's drain): {@link #beginShutdown()} stops receiving at
 * once (a long poll under way is abandoned, and requests it still brings are made visible again),
 * and <em>everything already received is finished</em>, including a batch received early for the
 * next round: its images are downloaded and likely decoded already, so finishing it (at most two
 * batch times) is cheaper for the fleet than handing it back, and there is one rule, "received
 * means finished or left", instead of two. Then {@link #run()} returns (the command exits 0) and
 * the state is STOPPED. An idle worker so stops within moments, which scaling a fleet to zero
 * relies on; with an idle exit, a worker that has received nothing for that long stops by itself.
 *
 * <p>A Spot interruption notice ({@link #watchInterruptions}, {@link #noticed}) is a shutdown with a
 * deadline: what fits before it is finished, the rest handed back at once; the state is INTERRUPTED.
 *
 * <p>All its timing (polls, back-offs, heartbeats, the idle exit) runs in the {@link Time} it is
 * given, so unit tests run it in fake time.
 */
@ThreadSafe
public final class Worker {
    /** Error code of a result whose image is not in the input bucket. */
    public static final String MISSING = Results.MISSING;
    /** Error code of a result for a request that names its job and image but is otherwise unreadable. */
    public static final String MALFORMED = Results.MALFORMED;

    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** Kept free before a Spot interruption's deadline for the last batch's writes, publish and deletes. */
    static final Duration INTERRUPTION_MARGIN = Duration.ofSeconds(10);

    private final ImageClassifier classifier;
    private final WorkQueue requests;
    private final WorkQueue results;
    private final ObjectStore input;
    private final ObjectStore output;
    private final Time time;
    private final WorkerOptions options;
    private final DecodePlacement decoding;
    private final WorkerCounters counters;
    private final InHand inHand;
    private final ShutdownSignal shutdown;

    /** STARTING, POLLING (running) or STOPPED; {@link #state()} derives the rest. */
    private final AtomicReference<WorkerState> phase = new AtomicReference<>(WorkerState.STARTING);
    private final AtomicBoolean ran = new AtomicBoolean();
    /** Completed when the first receive is issued, with the model loaded: how fast start is measured. */
    private final CompletableFuture<Long> firstPoll = new CompletableFuture<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** Set by a Spot interruption notice: the state is INTERRUPTED until the worker stops. */
    private final AtomicBoolean interrupted = new AtomicBoolean();
    /** The environment to find the instance metadata service in; null: no interruption watcher. */
    private volatile Map<String, String> imdsEnv;

    /** A worker of the real classifier in the given clock's time (the system's, in production). */
    public Worker(Classifier classifier, WorkQueue requests, WorkQueue results, ObjectStore input, ObjectStore output, Clock clock,
                  WorkerOptions options) {
        this(ImageClassifier.of(classifier), requests, results, input, output, Time.of(clock), options);
    }

    public Worker(ImageClassifier classifier, WorkQueue requests, WorkQueue results, ObjectStore input, ObjectStore output, Time time,
                  WorkerOptions options) {
        this(classifier, requests, results, input, output, time, options, Runtime.getRuntime().availableProcessors());
    }

    /** @param processors the cores the placement of decoding is chosen for */
    public Worker(ImageClassifier classifier, WorkQueue requests, WorkQueue results, ObjectStore input, ObjectStore output, Time time,
                  WorkerOptions options, int processors) {
        this.classifier = Objects.requireNonNull(classifier, "classifier");
        this.requests = Objects.requireNonNull(requests, "requests");
        this.results = Objects.requireNonNull(results, "results");
        this.input = Objects.requireNonNull(input, "input");
        this.output = Objects.requireNonNull(output, "output");
        this.time = Objects.requireNonNull(time, "time");
        this.options = Objects.requireNonNull(options, "options");
        this.decoding = DecodePlacement.choose(classifier, processors, options.decodeThreads());
        this.counters = new WorkerCounters(decoding.ahead());
        this.inHand = new InHand(time, counters);
        this.shutdown = new ShutdownSignal(time);
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
        ExecutorService poller = Executors.newSingleThreadExecutor(DaemonThreads.named("imgscale-worker-poll"));
        ExecutorService io = Executors.newFixedThreadPool(options.downloadConcurrency(), DaemonThreads.named("imgscale-worker-io"));
        Scheduler timer = time.scheduler("imgscale-worker-timer");
        ExecutorService decoders = Executors.newFixedThreadPool(decoding.slots(), DaemonThreads.named("imgscale-worker-decode"));
        timer.scheduleAtFixedRate(counters::logTotals, WorkerCounters.TOTALS_EVERY, WorkerCounters.TOTALS_EVERY);
        LOG.info("Worker {} polling {} with model {} ({} engine, {} stream(s) of {} thread(s), batch {}): {} requests per poll, "
                        + "{} downloads at once, decoding {}, visibility {} s{}", options.workerId(), requests.name(), options.model(),
                classifier.engineName(), classifier.streams(), classifier.engineThreads(), classifier.batchSize(), options.maxMessages(),
                options.downloadConcurrency(), decoding.describe(), options.visibility().toSeconds(),
                options.idleExit() == null ? "" : ", idle exit after " + options.idleExit().toSeconds() + " s");
        SynchronousQueue<Batch> toClassify = new ClassifyHandOff();
        SynchronousQueue<Batch> toFinish = new SynchronousQueue<>();
        Decoder decoder = new Decoder(classifier, decoding);
        Thread receiver = DaemonThreads.named("imgscale-worker-receive").newThread(new ReceiveStage(requests, input, output, classifier,
                options, time, timer, poller, io, decoding.ahead() ? decoder : null, inHand, shutdown, firstPoll, toClassify));
        Thread finisher = DaemonThreads.named("imgscale-worker-finish").newThread(new FinishStage(requests, results, output, options,
                time, inHand, counters, shutdown, toFinish));
        // the classify stage: one loop per engine stream, each on its own thread; this thread waits
        // for all of them to end, or for the first to fail
        int streams = Math.max(1, classifier.streams());
        AtomicInteger classifying = new AtomicInteger(streams);
        List<Thread> classifiers = new ArrayList<>();
        List<CompletableFuture<Void>> classified = new ArrayList<>();
        CompletableFuture<Void> streamFailed = new CompletableFuture<>();
        for (int i = 0; i < streams; i++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            classified.add(done);
            ClassifyStage stage = new ClassifyStage(classifier, decoding.ahead() ? null : decoder, decoders, time, inHand, shutdown,
                    toClassify, toFinish, classifying);
            classifiers.add(DaemonThreads.named("imgscale-worker-classify").newThread(() -> {
                try {
                    stage.run();
                    done.complete(null);
                } catch (Throwable t) {
                    done.completeExceptionally(t);
                    streamFailed.completeExceptionally(t);
                }
            }));
        }
        boolean clean = false;
        // its own scheduler: an IMDS request may block for a second, which must not delay a heartbeat
        Scheduler imds = imdsEnv == null ? null : time.scheduler("imgscale-worker-imds");
        InterruptionWatcher watcher = imds == null ? null : new InterruptionWatcher(imdsEnv, time, this::noticed);
        try {
            inHand.start();
            if (watcher != null) {
                watcher.start(imds, InterruptionWatcher.DEFAULT_INTERVAL);
            }
            phase.set(WorkerState.POLLING);
            receiver.start();
            finisher.start();
            classifiers.forEach(Thread::start);
            awaitStreams(CompletableFuture.allOf(classified.toArray(CompletableFuture[]::new)), streamFailed);
            Uninterruptibly.join(receiver);
            Uninterruptibly.join(finisher);
            clean = true;
        } finally {
            if (!clean) {
                // An Error in the classify stage: stop the other stages rather than leave them blocked
                // on a hand-off forever. What they hold is left to come back.
                beginShutdown();
                receiver.interrupt();
                finisher.interrupt();
                classifiers.forEach(Thread::interrupt);
            }
            if (watcher != null) {
                watcher.close();
                imds.close();
            }
            // Not shutdownNow: an abandoned poll should finish, so that what it brings is released.
            poller.shutdown();
            timer.close();
            io.shutdownNow();
            decoders.shutdownNow();
            phase.set(WorkerState.STOPPED);
            LOG.info("Worker {} stopped{}: {} images ({} errors) in {} batches, {} left for redelivery, {} dropped, {} handed back",
                    options.workerId(), interrupted.get() ? " (Spot interruption)" : "", counters.processed(), counters.failed(),
                    counters.batches(), counters.left(), counters.cancelled(), counters.handedBack());
            stopped.countDown();
        }
    }

    /**
     * Waits, uninterruptibly, until every classify stream has ended, or rethrows the first one's
     * failure (an Error: the streams catch everything else batch by batch).
     */
    private static void awaitStreams(CompletableFuture<Void> all, CompletableFuture<Void> failed) {
        try {
            Uninterruptibly.get(CompletableFuture.anyOf(all, failed));
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

    /**
     * Stops receiving requests; every request already received is finished (results written,
     * requests deleted) before {@link #run()} returns, including those received early for the next
     * batch. Safe to call from any thread (a signal handler), any number of times.
     */
    public void beginShutdown() {
        shutdown.request();
    }

    /**
     * Has {@link #run()} watch the instance metadata service (found as {@code env} says; see
     * {@link InterruptionWatcher}) for EC2's notices, and react to the first. Call before run.
     */
    public void watchInterruptions(Map<String, String> env) {
        this.imdsEnv = Map.copyOf(Objects.requireNonNull(env, "env"));
    }

    /**
     * EC2's notice, from the {@link InterruptionWatcher} (once).
     *
     * <p>A Spot interruption: stop receiving at once (as {@link #beginShutdown()}: an abandoned long
     * poll's requests are given back), keep the batches that fit before the deadline less
     * {@link #INTERRUPTION_MARGIN} at the measured time per image, the one being classified
     * first, and hand every other request held back now (visibility 0); the state is INTERRUPTED
     * until {@link #run()} returns, and the command exits 0.
     *
     * <p>A rebalance recommendation is treated as a drain: finish everything in hand, then stop.
     * It comes with no deadline, often minutes before an interruption or none at all, so there is
     * no window to fit work into and no reason to give work back: the batches in hand are done in
     * a few batch times (seconds), far inside the two minutes' notice an interruption would still
     * give. That matters because the watcher hands over only its first notice: an interruption
     * announced during the drain is not seen, and the drain has to fit the two minutes on its own.
     * Leaving is still right: a recommendation says this instance is at high risk, and the
     * controller replaces a drained worker (possibly in a healthier pool) the same as a stopped one.
     */
    void noticed(InterruptionWatcher.Notice notice) {
        Optional<Instant> deadline = notice.deadline();
        if (deadline.isEmpty()) {
            LOG.info("Rebalance recommendation: finishing the {} request(s) in hand, then stopping", inHand.count());
            beginShutdown();
            return;
        }
        interrupted.set(true);
        shutdown.request();
        long budget = deadline.get().toEpochMilli() - INTERRUPTION_MARGIN.toMillis() - time.millis();
        double ms = counters.msPerImage();
        int handed = inHand.handBackBeyond(budget, ms, requests);
        LOG.warn("Spot interruption at {} ({} s from now): keeping {} request(s) that fit at {} ms per image, handed back {}",
                deadline.get(), Math.max(0, (deadline.get().toEpochMilli() - time.millis()) / 1000), inHand.count(), Math.round(ms), handed);
    }

    /** Waits (in real time) for {@link #run()} to return; true when it has. */
    public boolean awaitShutdown(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * STARTING, STOPPED, or while running: INTERRUPTED after a Spot interruption notice, DRAINING
     * once shutdown has begun, else WORKING while it
     * holds requests in any stage and POLLING when it holds none.
     */
    public WorkerState state() {
        WorkerState p = phase.get();
        if (p != WorkerState.POLLING) {
            return p;
        }
        if (interrupted.get()) {
            return WorkerState.INTERRUPTED;
        }
        if (shutdown.requested()) {
            return WorkerState.DRAINING;
        }
        return inHand.count() > 0 ? WorkerState.WORKING : WorkerState.POLLING;
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
        return counters.processed();
    }

    /** Per job, the images finished and the busy time they took: what the usage record says of this worker. */
    public Map<String, WorkerUsage.JobShare> usageByJob() {
        return counters.byJob();
    }

    /** Milliseconds this worker has been busy delivering images. */
    public long busyMs() {
        return counters.busyMs();
    }

    /** Of the processed requests, those whose result is an error. */
    public long failed() {
        return counters.failed();
    }

    /** Batches finished (or left whole). */
    public long batches() {
        return counters.batches();
    }

    /** Requests received, each delivery counted. */
    public long received() {
        return counters.received();
    }

    /** Receives that ended without deleting the request, which will come back (or go to the dead-letter queue). */
    public long left() {
        return counters.left();
    }

    /** Requests deleted without a result because their job no longer exists. */
    public long cancelled() {
        return counters.cancelled();
    }

    /** Requests handed back (visibility 0) at a Spot interruption. */
    public long handedBack() {
        return counters.handedBack();
    }

    public WorkerOptions options() {
        return options;
    }

    /** How images are decoded, for reports ({@link DecodePlacement#describe()}). */
    public String decoding() {
        return decoding.describe();
    }

    /** Requests held right now, in any stage (received, not yet deleted or left). */
    public int inHand() {
        return inHand.count();
    }

    /** The requests held right now in each stage (stages holding none are left out). */
    public Map<BatchStage, Integer> pipeline() {
        return inHand.pipeline();
    }

    /** Epoch millis since when it has held nothing (0 before it starts polling). */
    public long idleSince() {
        return inHand.idleSince();
    }

    /**
     * Recent wall time per image as the pipeline delivers them: the time from the previous batch's
     * finish (or this batch's receive, if later) to this batch's finish, over its size; smoothed.
     * 0 until the first batch.
     */
    public double msPerImage() {
        return counters.msPerImage();
    }
}
