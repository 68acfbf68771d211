package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.Prediction;
import dev.imgscale.classifier.concurrent.Uninterruptibly;
import dev.imgscale.daemon.time.Time;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stage 2, one per engine stream: takes a prepared batch, decodes its images (unless the receive
 * stage did) and classifies the good ones in one call, then hands the batch to the finish stage.
 * Decoding and inference run on two threads with a hand-off between them, so that a stream's next
 * batch is decoded while its current one is classified; how many images decode at once is the
 * {@link DecodeTuner}'s choice from the times measured here.
 */
public final class ClassifyStage implements Runnable {
    private final ImageClassifier classifier;
    /** Null when the receive stage decodes. */
    private final Decoder decoder;
    private final ExecutorService decoders;
    private final Time time;
    private final InHand inHand;
    private final ShutdownSignal shutdown;
    private final BlockingQueue<Batch> toClassify;
    private final BlockingQueue<Batch> toFinish;
    /** Classify loops that have not yet seen the end of the receive stage; shared by all of them. */
    private final AtomicInteger running;

    /**
     * @param decoder  decodes the batch here, in parallel on {@code decoders}; null: decoded ahead
     * @param running  the classify loops still running, shared: the last to end tells the finish stage
     */
    public ClassifyStage(ImageClassifier classifier, Decoder decoder, ExecutorService decoders, Time time, InHand inHand,
                         ShutdownSignal shutdown, BlockingQueue<Batch> toClassify, BlockingQueue<Batch> toFinish, AtomicInteger running) {
        this.classifier = classifier;
        this.decoder = decoder;
        this.decoders = decoders;
        this.time = time;
        this.inHand = inHand;
        this.shutdown = shutdown;
        this.toClassify = toClassify;
        this.toFinish = toFinish;
        this.running = running;
    }

    @Override
    public void run() {
        if (decoder == null) {
            // decoded ahead: this thread only infers
            inferLoop(toClassify);
        } else {
            decodeAndInfer();
        }
        // the receive stage is done: the last stream to learn it tells the finish stage,
        // each other one passes the news to a sibling (which takes it once its batch is handed on)
        if (running.decrementAndGet() > 0) {
            Uninterruptibly.put(toClassify, Batch.END);
        } else {
            Uninterruptibly.put(toFinish, Batch.END);
        }
    }

    /**
     * This thread decodes (on the pool) while a thread of its own runs this stream's inference, so
     * the next batch is decoded during the current pass. The hand-off between them holds no batch:
     * a decoder that gets a batch ahead blocks in it, rather than decoding further and taking cores
     * from the engine (and memory: a decoded 224 x 224 batch of 32 is 19 MB).
     */
    private void decodeAndInfer() {
        SynchronousQueue<Batch> decoded = new SynchronousQueue<>();
        AtomicReference<Throwable> inferFailed = new AtomicReference<>();
        Thread self = Thread.currentThread();
        Thread inferrer = new Thread(() -> {
            try {
                inferLoop(decoded);
            } catch (Throwable t) {
                // an Error: this stream fails as a whole, like the one-thread loop did
                inferFailed.set(t);
                self.interrupt();
            }
        }, self.getName() + "-infer");
        inferrer.setDaemon(true);
        inferrer.start();
        try {
            while (true) {
                // interruptible: the inference thread's failure must end this wait (the batches in
                // hand are then left to come back, as when the one-thread loop failed)
                Batch batch = toClassify.take();
                if (batch != Batch.END) {
                    batch.stage = BatchStage.CLASSIFYING;
                    batch.classifyNanos = time.nanos();
                    try {
                        decoder.decodeAll(batch.items, decoders, shutdown, time);
                    } catch (RuntimeException e) {
                        inHand.abandon(batch, "while decoding", e);
                        continue;
                    }
                    batch.decodedNanos = time.nanos();
                }
                handOver(decoded, batch, inferFailed);
                if (batch == Batch.END) {
                    break;
                }
            }
            // the inference thread finishes the batch in hand and ends on the marker
            inferrer.join();
        } catch (InterruptedException e) {
            // the worker is being stopped the hard way (or inference failed): stop the inference thread too
            inferrer.interrupt();
            Thread.currentThread().interrupt();
        }
        Throwable failure = inferFailed.get();
        if (failure instanceof Error error) {
            throw error;
        } else if (failure != null) {
            throw new IllegalStateException("the inference thread failed", failure);
        } else if (Thread.currentThread().isInterrupted()) {
            throw new IllegalStateException("interrupted while classifying");
        }
    }

    /** Puts a decoded batch in the hand-off; the inference thread's failure (which interrupts this one) ends the wait. */
    private static void handOver(SynchronousQueue<Batch> decoded, Batch batch, AtomicReference<Throwable> inferFailed)
            throws InterruptedException {
        if (inferFailed.get() != null) {
            throw new InterruptedException("inference failed");
        }
        decoded.put(batch);
    }

    /** Takes decoded batches, classifies each and hands it to the finish stage, until the end marker. */
    private void inferLoop(BlockingQueue<Batch> from) {
        while (true) {
            Batch batch = Uninterruptibly.take(from);
            if (batch == Batch.END) {
                return;
            }
            if (decoder == null) {
                batch.stage = BatchStage.CLASSIFYING;
                batch.classifyNanos = time.nanos();
                batch.decodedNanos = batch.classifyNanos;
            }
            try {
                infer(batch.items);
            } catch (RuntimeException e) {
                inHand.abandon(batch, "while " + batch.stage.name().toLowerCase(Locale.ROOT), e);
                continue;
            }
            batch.stage = BatchStage.CLASSIFIED;
            batch.classifiedNanos = time.nanos();
            // The finish stage always runs until it takes the end marker (it is interrupted only
            // after this stage has failed), so this returns and no batch is dropped between them.
            Uninterruptibly.put(toFinish, batch);
        }
    }

    /** Classifies the decoded images in one call; if the engine fails, they are left to be retried. */
    private void infer(List<Item> items) {
        List<Item> ready = new ArrayList<>();
        List<float[]> tensors = new ArrayList<>();
        for (Item item : items) {
            if (item.pending() && item.tensor != null) {
                ready.add(item);
                tensors.add(item.tensor);
            }
        }
        if (ready.isEmpty()) {
            return;
        }
        List<List<Prediction>> predictions;
        try {
            long start = time.nanos();
            predictions = classifier.infer(tensors);
            DecodeTuner tuner = decoder == null ? null : decoder.tuner();
            if (tuner != null) {
                tuner.inferred(time.nanos() - start, tensors.size());
            }
        } catch (RuntimeException e) {
            WorkerLog.LOG.error("Inference failed on a batch of {} image(s); leaving them to be retried", ready.size(), e);
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
}
