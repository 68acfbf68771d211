package dev.imgscale.daemon.port;

/** A queue's approximate depth: messages waiting, messages received but not yet deleted, and delayed ones. */
public record QueueDepth(long visible, long inFlight, long delayed) {
    public long total() {
        return visible + inFlight + delayed;
    }
}
