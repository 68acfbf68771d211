package dev.imgscale.cli;

import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.stack.StackContext;
import java.util.TreeSet;

/** What a refused request must not change, for the tests of {@code imgscale serve}'s refusals. */
final class StackSnapshot {
    private StackSnapshot() {
    }

    /** Every object in both buckets and the requests still queued, as text to compare before and after. */
    static String of(StackContext stack) {
        QueueDepth q = stack.requests().depth();
        return "input " + new TreeSet<>(stack.input().list("")) + "\noutput " + new TreeSet<>(stack.output().list(""))
                + "\nrequests " + (q.visible() + q.inFlight());
    }
}
