package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.Keys;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * The receive stage's work on a batch: reads each request, drops those of jobs that were reset,
 * reads the batch's shard members together ({@link ShardFetch}: one ranged GET for neighbours), downloads the
 * other images concurrently (from the input bucket, or in place from their own bucket) and, when
 * decoding ahead, decodes each as it arrives.
 */
final class BatchPreparer {
    private final ObjectStore input;
    private final ObjectStore output;
    /** The source buckets of images read in place, reached through the input store's client. */
    private final SourceStores sources;
    /** Shard members of a batch, neighbours read with one ranged GET. */
    private final ShardFetch shards;
    private final long maxImageBytes;
    /** Null unless images are decoded in the receive stage. */
    private final Decoder decodeAhead;
    private final ExecutorService io;
    private final ShutdownSignal shutdown;

    BatchPreparer(ObjectStore input, ObjectStore output, long maxImageBytes, Decoder decodeAhead, ExecutorService io,
                  ShutdownSignal shutdown) {
        this.input = input;
        this.output = output;
        this.sources = new SourceStores(input);
        this.shards = new ShardFetch(input, maxImageBytes);
        this.maxImageBytes = maxImageBytes;
        this.decodeAhead = decodeAhead;
        this.io = io;
        this.shutdown = shutdown;
    }

    void prepare(Batch batch) {
        for (QueueMessage m : batch.messages) {
            batch.items.add(read(m));
        }
        checkJobs(batch.items);
        shards.fetch(batch.items);
        ForEachItem.run(batch.items, Disposition.PENDING, io, item -> {
            fetch(item);
            if (decodeAhead != null) {
                decodeAhead.decode(item);
            }
        }, "cannot download or decode", shutdown);
    }

    /** The request as an item; one whose job and name are unknown is left for the dead-letter queue. */
    private static Item read(QueueMessage m) {
        Item item = new Item(m);
        RequestParser.Parsed parsed = RequestParser.parse(m.body());
        if (parsed instanceof RequestParser.Valid v) {
            item.request = v.request();
            item.job = v.request().job();
            item.name = v.request().name();
        } else if (parsed instanceof RequestParser.Malformed x) {
            item.job = x.job();
            item.name = x.name();
            item.fail(Results.MALFORMED, "the request could not be read: " + x.reason());
        } else if (parsed instanceof RequestParser.Foreign f) {
            WorkerLog.LOG.warn("Message {} (receive {}) is not an imgscale request; leaving it for the dead-letter queue: {}", m.id(),
                    m.receiveCount(), f.reason());
            item.leave("not an imgscale request");
        }
        return item;
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
                    WorkerLog.LOG.debug("Cannot check the manifest of job {}: {}", job, e.toString());
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
                WorkerLog.LOG.info("Dropping requests of job {}: its manifest is gone (the job was reset)", job);
            }
        });
    }

    /** The image's bytes from where its request says it is; a missing image or one over the limit is an error row. */
    private void fetch(Item item) {
        if (item.bytes != null) {
            return; // a shard member, read with its neighbours (ShardFetch never leaves one pending without bytes)
        }
        ImageLocation location = item.request == null ? ImageLocation.UPLOADED : item.request.location();
        ObjectStore store;
        String key;
        if (location instanceof ImageLocation.InPlace p) {
            store = sources.of(p.object().bucket());
            key = p.object().key();
        } else {
            store = input;
            key = Keys.input(item.job, item.name);
        }
        Optional<byte[]> bytes;
        try {
            bytes = store.get(key, maxImageBytes);
        } catch (ObjectTooLargeException e) {
            item.fail(ErrorCode.TOO_LARGE.name(), "the image has " + e.size() + " bytes, over the " + e.limit() + "-byte limit");
            return;
        } catch (RuntimeException e) {
            item.leave("cannot download " + key + " from bucket " + store.name() + ": " + e);
            return;
        }
        if (bytes.isEmpty()) {
            item.fail(Results.MISSING, "the image " + key + " is not in bucket " + store.name());
            return;
        }
        item.bytes = bytes.get();
    }
}
