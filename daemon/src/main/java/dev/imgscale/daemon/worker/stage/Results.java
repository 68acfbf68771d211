package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.Prediction;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.ArrayList;
import java.util.List;

/** The result records a batch's answered requests get, and the error codes that are the worker's own. */
public final class Results {
    /** Error code of a result whose image is not in the input bucket (or, in place, not in its own bucket). */
    public static final String MISSING = "MISSING";
    /** Error code of a result for a request that names its job and image but is otherwise unreadable. */
    public static final String MALFORMED = "MALFORMED";

    private Results() {
    }

    /** Gives each item with a result its record, stamped {@code now}; latency counts from the request's sentAt. */
    static void build(List<Item> items, long now, String model, String workerId) {
        for (Item item : items) {
            if (item.disposition != Disposition.RESULT) {
                continue;
            }
            Long latency = item.request != null && item.request.sentAt() > 0 ? now - item.request.sentAt() : null;
            int receives = item.message.receiveCount();
            String source = item.request == null ? null : item.request.source();
            if (item.error != null) {
                item.record = new ResultRecord(ResultRecord.VERSION, item.job, item.name, null, null, null, item.error,
                        item.errorMessage, model, workerId, receives, now, latency, source);
            } else {
                List<ResultRecord.Label> top = new ArrayList<>(item.top.size());
                for (Prediction p : item.top) {
                    top.add(new ResultRecord.Label(p.label(), p.probability(), p.classIndex()));
                }
                Prediction best = item.top.get(0);
                item.record = new ResultRecord(ResultRecord.VERSION, item.job, item.name, best.label(), best.probability(), top, null,
                        null, model, workerId, receives, now, latency, source);
            }
        }
    }
}
