package dev.imgscale.daemon.client;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.WorkerBoard;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Clock;
import java.time.Duration;

/**
 * Whether the stack's live workers read the requests an upload is about to send (issue 13 item 7):
 * a worker of the previous release reads request format 1 only and would answer every version-2
 * request (shards, images in place) with a MALFORMED error row, so the upload refuses before it
 * stores or sends anything. Each worker's report says the newest format it reads
 * ({@link WorkerStatus#readsRequests()}; a report without it is a previous release's).
 *
 * <p>With no live worker the upload goes ahead: workers launched from now on start from the
 * stack's configuration, which this release wrote or read (the controller launches the image and
 * command the stack names), and a worker that reads version 1 only can only be one started by
 * hand from an old jar, which this check meets the next time it reports. A worker that has not
 * reported for {@link #LIVE} (the controller's lost-worker rule) or reported STOPPED is not live.
 */
final class WorkerReleases {
    static final Duration LIVE = Duration.ofSeconds(30);

    private WorkerReleases() {
    }

    /**
     * @throws ImgscaleException in one sentence, naming a live worker that cannot read {@code version}
     */
    static void requireReaders(WorkerBoard board, String stack, int version, Clock clock) {
        long now = clock.millis();
        java.util.Map<String, WorkerStatus> statuses;
        try {
            statuses = board.statuses();
        } catch (ImgscaleException e) {
            throw e;
        } catch (RuntimeException e) {
            // on AWS, most likely a cli-user policy of an earlier release (no GetObject on fleet/workers/*)
            throw new ImgscaleException("Cannot read the worker reports of stack " + stack + " to check their release (" + e.getMessage()
                    + "); if the cli-user's IAM policy predates this release, run examples/iam/create-roles.sh again.", e);
        }
        for (WorkerStatus s : statuses.values()) {
            boolean live = !s.stopped() && now - s.updatedAt() <= LIVE.toMillis();
            if (live && s.readsRequests() < version) {
                throw new ImgscaleException("Worker " + s.id() + " of stack " + stack + " runs an earlier imgscale release that cannot"
                        + " read this upload's requests (format " + version + "); stop it or let it finish, and start the workers"
                        + " of this release, then upload again (nothing was uploaded).");
            }
        }
    }
}
