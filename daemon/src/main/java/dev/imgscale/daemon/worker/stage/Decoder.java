package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.daemon.time.Time;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * Decodes downloaded images into the model's input, within the slots that bound the decodes
 * running and the decoded images alive at once. Used by the receive stage when decoding ahead,
 * else by the classify stage, which also times each decode for the {@link DecodeTuner}: the
 * tuner's choice sets how many of the slots are open, and a pool thread beyond them waits on a
 * slot instead of taking a core from the engine.
 */
public final class Decoder {
    private final ImageClassifier classifier;
    private final int maxSlots;
    private final Slots slots = new Slots();
    /** Guarded by slots: the slots open now. */
    private int open;
    private final DecodeTuner tuner;

    /** The decode threads chosen from measurements ({@link DecodeTuner}) up to {@code slots}, the pool's size. */
    public Decoder(ImageClassifier classifier, int slots) {
        this(classifier, slots, Runtime.getRuntime().availableProcessors());
    }

    /** As the placement says: its slots, and the count the operator gave it, if any, instead of the tuner's choice. */
    public Decoder(ImageClassifier classifier, DecodePlacement placement) {
        this.classifier = classifier;
        this.maxSlots = Math.max(1, placement.slots());
        if (placement.ahead()) {
            this.tuner = null;
            resize(maxSlots);
        } else {
            this.tuner = new DecodeTuner(Runtime.getRuntime().availableProcessors(), classifier.streams(), classifier.engineThreads(),
                    placement.given(), this::resize);
        }
    }

    /** @param processors the cores the tuner chooses the split for */
    public Decoder(ImageClassifier classifier, int slots, int processors) {
        this.classifier = classifier;
        this.maxSlots = Math.max(1, slots);
        if (DecodePlacement.choose(classifier, processors).ahead()) {
            // the receive stage decodes on the cores the engines leave free: all the slots, untimed
            this.tuner = null;
            resize(maxSlots);
        } else {
            this.tuner = DecodeTuner.forClassifier(classifier, processors, this::resize);
        }
    }

    /** With a tuner of the caller's, for tests: the decoder resizes itself when the tuner says. */
    Decoder(ImageClassifier classifier, int slots, Function<IntConsumer, DecodeTuner> tuner) {
        this.classifier = classifier;
        this.maxSlots = Math.max(1, slots);
        this.tuner = tuner.apply(this::resize);
    }

    /** Null when the receive stage decodes: nothing is measured or re-chosen then. */
    public DecodeTuner tuner() {
        return tuner;
    }

    /** Decodes at once now. */
    public int open() {
        synchronized (slots) {
            return open;
        }
    }

    /** Opens or closes slots so that {@code n} (at most the pool's size) decode at once; a decode under way finishes. */
    void resize(int n) {
        int target = Math.max(1, Math.min(maxSlots, n));
        synchronized (slots) {
            if (target > open) {
                slots.release(target - open);
            } else if (target < open) {
                slots.reducePermits(open - target);
            }
            open = target;
        }
    }

    /** Decodes one item's image; an image the decoder rejects gets its error result, another failure leaves the item. */
    void decode(Item item) {
        decode(item, null);
    }

    /** As {@link #decode(Item)}, telling the tuner how long the decode took in {@code time} (null: untimed). */
    private void decode(Item item, Time time) {
        if (!item.pending() || item.bytes == null) {
            return;
        }
        slots.acquireUninterruptibly();
        long start = time == null ? 0 : time.nanos();
        try {
            item.tensor = classifier.decode(item.bytes);
        } catch (ImageRejectedException e) {
            item.fail(e.code().name(), e.getMessage());
        } catch (RuntimeException e) {
            // Not the image's known fault: retry, and let the dead-letter queue stop a repeat offender.
            item.leave("cannot decode: " + e);
        } finally {
            if (time != null && tuner != null) {
                tuner.decoded(time.nanos() - start);
            }
            slots.release();
            item.bytes = null;
        }
    }

    /** Decodes the batch's downloaded images in parallel on the pool. */
    void decodeAll(List<Item> items, ExecutorService pool, ShutdownSignal shutdown) {
        ForEachItem.run(items, Disposition.PENDING, pool, this::decode, "cannot decode", shutdown);
    }

    /** As {@link #decodeAll(List, ExecutorService, ShutdownSignal)}, timing each decode for the tuner. */
    void decodeAll(List<Item> items, ExecutorService pool, ShutdownSignal shutdown, Time time) {
        ForEachItem.run(items, Disposition.PENDING, pool, item -> decode(item, time), "cannot decode", shutdown);
    }

    /** A semaphore whose permits can be taken away while some are held. */
    private static final class Slots extends Semaphore {
        Slots() {
            super(0);
        }

        @Override
        protected void reducePermits(int reduction) {
            super.reducePermits(reduction);
        }
    }
}
