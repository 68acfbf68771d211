package dev.imgscale.daemon.controller;

/** Where a worker is in its life, as the controller sees it from the fleet and the worker's own reports. */
public enum WorkerPhase {
    /** Launched, has not reported yet: it holds no message. */
    BOOTING,
    /** Reporting, holds no message. */
    IDLE,
    /** Reporting, holds messages. */
    BUSY,
    /** Told to drain: finishing what it holds, receiving nothing new. */
    DRAINING,
    /** Confirmed it stopped: holds nothing, safe to terminate. */
    DRAINED,
    /** Stopped reporting (or never booted): replaced; its messages come back by visibility timeout. */
    LOST;

    /** Counts towards capacity that will serve the backlog. */
    public boolean serving() {
        return this == BOOTING || this == IDLE || this == BUSY;
    }
}
