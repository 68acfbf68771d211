package dev.imgscale.daemon.worker.stage;

import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.worker.WorkerOptions;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;

/**
 * Stage 1, on its own thread: long-polls the request queue, takes what comes into the worker's
 * hands (counted, its heartbeat started), prepares it ({@link BatchPreparer}) and hands it to the
 * classify stage, waiting until a classify thread takes it: so it receives again only then, and
 * takes at most one batch early from the other workers. Ends (passing the end marker on) when
 * shutdown begins, or at the idle exit.
 */
public final class ReceiveStage implements Runnable {
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final WorkQueue requests;
    private final WorkerOptions options;
    private final Time time;
    private final Scheduler heartbeats;
    private final ExecutorService poller;
    private final BatchPreparer preparer;
    private final InHand inHand;
    private final ShutdownSignal shutdown;
    private final CompletableFuture<Long> firstPoll;
    private final BlockingQueue<Batch> toClassify;

    /**
     * @param heartbeats where each batch's heartbeat runs
     * @param poller     where polls run, so that a shutdown need not wait out a long poll
     * @param io         where images are downloaded
     * @param decoder    decodes each image as it arrives; null: the classify stage decodes
     * @param firstPoll  completed with the time of the first receive
     * @param toClassify the hand-off to the classify stage
     */
    public ReceiveStage(WorkQueue requests, ObjectStore input, ObjectStore output, ImageClassifier classifier, WorkerOptions options,
                        Time time, Scheduler heartbeats, ExecutorService poller, ExecutorService io, Decoder decoder, InHand inHand,
                        ShutdownSignal shutdown, CompletableFuture<Long> firstPoll, BlockingQueue<Batch> toClassify) {
        this.requests = requests;
        this.options = options;
        this.time = time;
        this.heartbeats = heartbeats;
        this.poller = poller;
        this.preparer = new BatchPreparer(input, output, classifier.maxImageBytes(), decoder, io, shutdown);
        this.inHand = inHand;
        this.shutdown = shutdown;
        this.firstPoll = firstPoll;
        this.toClassify = toClassify;
    }

    @Override
    public void run() {
        try {
            Duration backoff = null;
            while (!shutdown.requested()) {
                Duration wait = options.pollWait();
                if (options.idleExit() != null) {
                    long remaining = options.idleExit().toMillis() - (time.millis() - inHand.lastWork());
                    if (remaining <= 0 && inHand.count() == 0) {
                        WorkerLog.LOG.info("No request for {} s; exiting (idle exit)", options.idleExit().toSeconds());
                        return;
                    }
                    if (remaining < wait.toMillis()) {
                        // while later stages still hold a batch, poll at least a second at a time
                        wait = Duration.ofMillis(inHand.count() > 0 ? Math.max(remaining, 1000) : Math.max(remaining, 0));
                    }
                }
                List<QueueMessage> messages;
                try {
                    firstPoll.complete(time.millis());
                    messages = poll(wait);
                    backoff = null;
                } catch (RuntimeException e) {
                    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                    backoff = backoff == null ? FIRST_BACKOFF : min(backoff.multipliedBy(2), MAX_BACKOFF);
                    WorkerLog.LOG.warn("Cannot receive from {} ({}); trying again in {} s", requests.name(), cause.toString(),
                            backoff.toSeconds());
                    shutdown.pause(backoff);
                    continue;
                }
                if (messages == null) {
                    return;
                }
                if (messages.isEmpty()) {
                    continue;
                }
                Batch batch = inHand.hold(messages);
                if (batch == null) {
                    // a Spot interruption closed the worker's hands while this poll was answered
                    release(messages);
                    return;
                }
                batch.startHeartbeat(heartbeats, requests, options.visibility(), options.heartbeat());
                try {
                    preparer.prepare(batch);
                } catch (RuntimeException e) {
                    inHand.abandon(batch, "while " + batch.stage.name().toLowerCase(Locale.ROOT), e);
                    continue;
                }
                if (batch.handedBack()) {
                    continue; // handed back at a Spot interruption while its images were downloaded
                }
                batch.stage = BatchStage.PREPARED;
                batch.preparedNanos = time.nanos();
                try {
                    toClassify.put(batch);
                } catch (InterruptedException e) {
                    // the worker interrupts this stage only when the classify stage has failed: stop
                    inHand.abandon(batch, "the classify stage failed", null);
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        } finally {
            try {
                toClassify.put(Batch.END);
            } catch (InterruptedException e) {
                // the classify stage has failed and takes nothing more
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * One long poll, or null when shutdown begins first. The poll is then abandoned rather than
     * waited out (it may have 20 s to go), and whatever it still brings is made visible again at
     * once, so that another worker takes it without waiting for the visibility timeout.
     *
     * @throws CompletionException when the receive fails
     */
    private List<QueueMessage> poll(Duration wait) {
        CompletableFuture<List<QueueMessage>> poll = CompletableFuture.supplyAsync(
                () -> requests.receive(options.maxMessages(), wait, options.visibility()), poller);
        try {
            CompletableFuture.anyOf(poll, shutdown.future()).join();
        } catch (CompletionException e) {
            // the poll failed: join() below rethrows it
        }
        if (poll.isDone()) {
            return poll.join();
        }
        poll.thenAccept(this::release);
        return null;
    }

    /** Gives back requests received after shutdown (or an interruption) began: visible to other workers at once. */
    private void release(List<QueueMessage> late) {
        if (late.isEmpty()) {
            return;
        }
        try {
            requests.extendVisibility(late, Duration.ZERO);
            WorkerLog.LOG.info("Released {} request(s) received after shutdown began", late.size());
        } catch (RuntimeException e) {
            WorkerLog.LOG.warn("Could not release {} request(s) received after shutdown began; they come back after the visibility timeout: {}",
                    late.size(), e.toString());
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
