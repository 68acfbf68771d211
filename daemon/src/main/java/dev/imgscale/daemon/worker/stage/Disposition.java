package dev.imgscale.daemon.worker.stage;

/** What becomes of one request of a batch. */
enum Disposition {
    /** Still being worked on. */
    PENDING,
    /** Has a result (labels or error): write it, publish it, delete the request. */
    RESULT,
    /** Its job is gone: delete the request, no result. */
    CANCELLED,
    /** Leave the request to come back after its visibility timeout. */
    LEAVE
}
