package dev.imgscale.daemon.worker.stage;

/** Where a batch is in the worker's pipeline; a batch only moves forward. */
public enum BatchStage {
    /** Received; being parsed and its images downloaded (and decoded, when decoding ahead) on the receive thread. */
    PREPARING,
    /** Downloaded, waiting for the classify stage to take it: a batch received early for the next round. */
    PREPARED,
    /** Being decoded (unless decoded ahead) and classified. */
    CLASSIFYING,
    /** Classified, waiting for the finish thread to take it. */
    CLASSIFIED,
    /** Taken by the finish stage, its results held there until the next flush ({@link FlushPolicy}). */
    BUFFERED,
    /** Results being written and published, then the requests deleted. */
    FINISHING,
    /** Deleted (or left to come back): no longer held. */
    DONE
}
