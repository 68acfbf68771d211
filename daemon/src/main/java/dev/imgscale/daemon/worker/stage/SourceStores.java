package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.ObjectStore;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stores of the buckets images are read from in place, one per bucket, made once through the
 * input store's client: what a worker may read there is its role's business (the stack's
 * {@code source-buckets}); a request in a bucket it cannot read is left to come back (and, after
 * its receives, goes to the dead-letter queue) like any other failed download.
 */
@ThreadSafe
final class SourceStores {
    private final ObjectStore input;
    private final Map<String, ObjectStore> stores = new ConcurrentHashMap<>();

    SourceStores(ObjectStore input) {
        this.input = input;
    }

    ObjectStore of(String bucket) {
        if (bucket.equals(input.name())) {
            return input;
        }
        return stores.computeIfAbsent(bucket, input::inBucket);
    }
}
