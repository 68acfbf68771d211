package dev.imgscale.daemon.worker.stage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The stages log under the worker's name, as one source: what operators and log filters have always seen. */
final class WorkerLog {
    static final Logger LOG = LoggerFactory.getLogger("dev.imgscale.daemon.worker.Worker");

    private WorkerLog() {
    }
}
