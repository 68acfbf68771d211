package dev.imgscale.daemon.testing;

import dev.imgscale.daemon.client.ResultListing;
import dev.imgscale.daemon.client.ResultObjects;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A job's results as the workers stored them, read the way the readers read them (both formats). */
public final class StoredResults {
    private StoredResults() {
    }

    /** Every row of every result object of the job, in key order, second rows of a name included. */
    public static List<ResultRecord> rows(ObjectStore output, String job) {
        List<ResultRecord> rows = new ArrayList<>();
        for (String key : ResultListing.of(output, job).keys()) {
            rows.addAll(ResultObjects.read(output, job, key));
        }
        return rows;
    }

    /** One row per name (the first in key order), by name. */
    public static Map<String, ResultRecord> byName(ObjectStore output, String job) {
        Map<String, ResultRecord> out = new TreeMap<>();
        for (ResultRecord r : rows(output, job)) {
            out.putIfAbsent(r.name(), r);
        }
        return out;
    }
}
