package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.Prediction;
import dev.imgscale.classifier.concurrent.Uninterruptibly;
import dev.imgscale.daemon.time.Time;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stage 2, one loop per engine stream, each on its own thread: takes a prepared batch, decodes
 * its images (unless the receive stage did) and classifies the good ones in one call, then hands
 * the batch to the finish stage. {@link #process} is the one place where decoding meets inference.
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
        while (true) {
            Batch batch = Uninterruptibly.take(toClassify);
            if (batch == Batch.END) {
                // the receive stage is done: the last stream to learn it tells the finish stage,
                // each other one passes the news to a sibling (which takes it once its batch is handed on)
                if (running.decrementAndGet() > 0) {
                    Uninterruptibly.put(toClassify, Batch.END);
                } else {
                    Uninterruptibly.put(toFinish, Batch.END);
                }
                return;
            }
            batch.stage = BatchStage.CLASSIFYING;
            batch.classifyNanos = time.nanos();
            try {
                process(batch);
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

    /** Decode, then infer. */
    private void process(Batch batch) {
        if (decoder != null) {
            decoder.decodeAll(batch.items, decoders, shutdown);
        }
        batch.decodedNanos = time.nanos();
        infer(batch.items);
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
            predictions = classifier.infer(tensors);
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
