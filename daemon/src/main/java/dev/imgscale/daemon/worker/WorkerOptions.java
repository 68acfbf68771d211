package dev.imgscale.daemon.worker;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.stack.StackConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link Worker} runs.
 *
 * @param maxMessages         requests received per poll, 1-10 (SQS returns at most ten)
 * @param pollWait            how long one poll waits for work, 1-20 s (SQS long polling)
 * @param visibility          how long received requests stay invisible to other workers; the
 *                            heartbeat extends it every third of it while a batch is in hand
 * @param downloadConcurrency images downloaded at once (decoding is further limited to the
 *                            classifier's decode threads, so memory stays bounded)
 * @param idleExit            stop after this long without receiving a request; null: never
 * @param workerId            written into every result (host and pid by default)
 * @param model               the model's name, written into every result
 * @param decodeThreads       images decoded at once, fixed by the operator ({@code --decode-threads}); 0: chosen from
 *                            measured decode and inference times ({@link dev.imgscale.daemon.worker.stage.DecodeTuner})
 * @param flushImages         results written in one object once this many wait (see {@code FlushPolicy})
 * @param flushEvery          results written at the latest this long after the oldest of them was classified
 */
public record WorkerOptions(int maxMessages, Duration pollWait, Duration visibility, int downloadConcurrency, Duration idleExit,
                            String workerId, String model, int decodeThreads, int flushImages, Duration flushEvery) {
    public static final int MAX_MESSAGES = 10;
    public static final Duration MAX_WAIT = Duration.ofSeconds(20);
    public static final int DEFAULT_DOWNLOAD_CONCURRENCY = 8;
    public static final int DEFAULT_FLUSH_IMAGES = 100;
    public static final Duration DEFAULT_FLUSH_EVERY = Duration.ofSeconds(5);

    public WorkerOptions {
        if (maxMessages < 1 || maxMessages > MAX_MESSAGES) {
            throw new ImgscaleException("A worker receives 1 to " + MAX_MESSAGES + " requests at a time, not " + maxMessages + ".");
        }
        Objects.requireNonNull(pollWait, "pollWait");
        // Not zero: an empty queue would then be polled in a tight loop.
        if (pollWait.compareTo(Duration.ofSeconds(1)) < 0 || pollWait.compareTo(MAX_WAIT) > 0) {
            throw new ImgscaleException("The poll wait must be 1 to 20 seconds, not " + pollWait.toMillis() + " ms.");
        }
        Objects.requireNonNull(visibility, "visibility");
        if (visibility.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new ImgscaleException("The visibility timeout must be at least 1 second.");
        }
        if (downloadConcurrency < 1) {
            throw new ImgscaleException("The download concurrency must be at least 1.");
        }
        if (idleExit != null && idleExit.isNegative()) {
            throw new ImgscaleException("--idle-exit cannot be negative.");
        }
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(model, "model");
        if (decodeThreads < 0) {
            throw new ImgscaleException("--decode-threads must be a positive number of threads, or 0 to choose, not " + decodeThreads + ".");
        }
        if (flushImages < 1) {
            throw new ImgscaleException("A worker writes results once at least 1 image waits, not " + flushImages + ".");
        }
        Objects.requireNonNull(flushEvery, "flushEvery");
        if (flushEvery.isNegative()) {
            throw new ImgscaleException("The flush interval cannot be negative.");
        }
    }

    /** Decode threads chosen from measurements (0), with the default flushes: every {@value #DEFAULT_FLUSH_IMAGES} images or 5 s. */
    public WorkerOptions(int maxMessages, Duration pollWait, Duration visibility, int downloadConcurrency, Duration idleExit,
                         String workerId, String model) {
        this(maxMessages, pollWait, visibility, downloadConcurrency, idleExit, workerId, model, 0, DEFAULT_FLUSH_IMAGES,
                DEFAULT_FLUSH_EVERY);
    }

    /** The defaults for a stack: ten requests per 20 s poll, the stack's visibility timeout and model. */
    public static WorkerOptions defaults(StackConfig stack) {
        return new WorkerOptions(MAX_MESSAGES, MAX_WAIT, stack.visibilityTimeout(), DEFAULT_DOWNLOAD_CONCURRENCY, null,
                defaultWorkerId(), stack.model());
    }

    /** {@code host:pid}, which tells apart two workers on one machine and names the instance on EC2. */
    public static String defaultWorkerId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown-host";
        }
        return host + ":" + ProcessHandle.current().pid();
    }

    public WorkerOptions withMaxMessages(int n) {
        return new WorkerOptions(n, pollWait, visibility, downloadConcurrency, idleExit, workerId, model, decodeThreads, flushImages, flushEvery);
    }

    public WorkerOptions withPollWait(Duration d) {
        return new WorkerOptions(maxMessages, d, visibility, downloadConcurrency, idleExit, workerId, model, decodeThreads, flushImages, flushEvery);
    }

    public WorkerOptions withVisibility(Duration d) {
        return new WorkerOptions(maxMessages, pollWait, d, downloadConcurrency, idleExit, workerId, model, decodeThreads, flushImages, flushEvery);
    }

    public WorkerOptions withDownloadConcurrency(int n) {
        return new WorkerOptions(maxMessages, pollWait, visibility, n, idleExit, workerId, model, decodeThreads, flushImages, flushEvery);
    }

    /** Null: never exit for lack of work. */
    public WorkerOptions withIdleExit(Duration d) {
        return new WorkerOptions(maxMessages, pollWait, visibility, downloadConcurrency, d, workerId, model, decodeThreads, flushImages, flushEvery);
    }

    public WorkerOptions withWorkerId(String id) {
        return new WorkerOptions(maxMessages, pollWait, visibility, downloadConcurrency, idleExit, id, model, decodeThreads, flushImages, flushEvery);
    }

    public WorkerOptions withModel(String name) {
        return new WorkerOptions(maxMessages, pollWait, visibility, downloadConcurrency, idleExit, workerId, name, decodeThreads, flushImages, flushEvery);
    }

    public WorkerOptions withFlush(int images, Duration every) {
        return new WorkerOptions(maxMessages, pollWait, visibility, downloadConcurrency, idleExit, workerId, model, decodeThreads, images, every);
    }

    /** 0: chosen from measurements. */
    public WorkerOptions withDecodeThreads(int n) {
        return new WorkerOptions(maxMessages, pollWait, visibility, downloadConcurrency, idleExit, workerId, model, n, flushImages, flushEvery);
    }

    /** How often the heartbeat extends the visibility of a batch in hand: a third of it. */
    public Duration heartbeat() {
        return visibility.dividedBy(3);
    }
}
