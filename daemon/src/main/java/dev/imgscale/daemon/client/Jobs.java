package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.JobId;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the parts of the client share: a job id's check, retries with backoff, deleting objects. */
final class Jobs {
    private static final Logger LOG = LoggerFactory.getLogger(JobClient.class);
    private static final int ATTEMPTS = 4;

    private Jobs() {
    }

    static void check(String job) {
        if (!JobId.valid(job)) {
            throw new ImgscaleException("'" + job + "' is not a job id (they look like 20261123-235959-3f9a1c).");
        }
    }

    /** Runs the action up to four times with backoff; null on success, else the last error's message. */
    static String retry(String what, Runnable action) {
        long backoff = 200;
        RuntimeException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                action.run();
                return null;
            } catch (ImgscaleException e) {
                return e.getMessage();
            } catch (RuntimeException e) {
                last = e;
                LOG.debug("Attempt {} to {} failed: {}", attempt, what, e.toString());
                if (attempt < ATTEMPTS) {
                    try {
                        Thread.sleep(backoff);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return "interrupted";
                    }
                    backoff *= 3;
                }
            }
        }
        return last.getMessage() == null ? last.getClass().getSimpleName() : last.getMessage();
    }

    static int deleteAll(ObjectStore store, List<String> keys) {
        if (!keys.isEmpty()) {
            store.delete(keys);
        }
        return keys.size();
    }
}
