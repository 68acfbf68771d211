package dev.imgscale.daemon.web;

import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.client.JobProgress;

/** Hears one job's results; called on the watcher's thread, in order, each result once. */
interface ResultSubscriber {
    void result(ResultRecord record);

    void progress(JobProgress progress);

    /** The job was reset: nothing more will come. */
    void gone();

    /** False once the subscriber has gone away (its stream closed); it is then dropped. */
    default boolean open() {
        return true;
    }
}
