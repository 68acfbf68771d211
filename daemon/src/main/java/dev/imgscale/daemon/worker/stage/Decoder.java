package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.decode.ImageRejectedException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;

/**
 * Decodes downloaded images into the model's input, within the slots that bound the decodes
 * running and the decoded images alive at once. Used by the receive stage when decoding ahead,
 * else by the classify stage.
 */
public final class Decoder {
    private final ImageClassifier classifier;
    private final Semaphore slots;

    public Decoder(ImageClassifier classifier, int slots) {
        this.classifier = classifier;
        this.slots = new Semaphore(slots);
    }

    /** Decodes one item's image; an image the decoder rejects gets its error result, another failure leaves the item. */
    void decode(Item item) {
        if (!item.pending() || item.bytes == null) {
            return;
        }
        slots.acquireUninterruptibly();
        try {
            item.tensor = classifier.decode(item.bytes);
        } catch (ImageRejectedException e) {
            item.fail(e.code().name(), e.getMessage());
        } catch (RuntimeException e) {
            // Not the image's known fault: retry, and let the dead-letter queue stop a repeat offender.
            item.leave("cannot decode: " + e);
        } finally {
            slots.release();
            item.bytes = null;
        }
    }

    /** Decodes the batch's downloaded images in parallel on the pool. */
    void decodeAll(List<Item> items, ExecutorService pool, ShutdownSignal shutdown) {
        ForEachItem.run(items, Disposition.PENDING, pool, this::decode, "cannot decode", shutdown);
    }
}
