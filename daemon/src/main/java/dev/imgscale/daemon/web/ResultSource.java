package dev.imgscale.daemon.web;

import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.List;
import java.util.OptionalInt;

/** What the {@link ResultWatcher} reads of a job: the three reads it makes, so a test can give them in memory. */
interface ResultSource {
    /** The keys of the job's result objects now, in key order (one listing). */
    List<String> resultKeys(String job);

    /** The rows of one result object (a batch, or one image's result); none if it is gone. */
    List<ResultRecord> read(String job, String key);

    /** How many images the job has, if it has a sealed manifest (empty while it is uploaded, or without one). */
    OptionalInt manifestTotal(String job);

    static ResultSource of(JobClient client) {
        return new ResultSource() {
            @Override
            public List<String> resultKeys(String job) {
                return client.listing(job).keys();
            }

            @Override
            public List<ResultRecord> read(String job, String key) {
                return client.read(job, key);
            }

            @Override
            public OptionalInt manifestTotal(String job) {
                return client.manifest(job).filter(JobManifest::sealed).map(m -> OptionalInt.of(m.count())).orElse(OptionalInt.empty());
            }
        };
    }
}
