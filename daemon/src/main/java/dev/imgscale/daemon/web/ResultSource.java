package dev.imgscale.daemon.web;

import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** What the {@link ResultWatcher} reads of a job: the three reads it makes, so a test can give them in memory. */
interface ResultSource {
    /** The names of the job's images that have a result now (one listing). */
    List<String> resultNames(String job);

    /** One image's result, if it exists and can be read. */
    Optional<ResultRecord> result(String job, String name);

    /** How many images the job's manifest names, if it has one. */
    OptionalInt manifestTotal(String job);

    static ResultSource of(JobClient client) {
        return new ResultSource() {
            @Override
            public List<String> resultNames(String job) {
                return client.resultNames(job);
            }

            @Override
            public Optional<ResultRecord> result(String job, String name) {
                return client.result(job, name);
            }

            @Override
            public OptionalInt manifestTotal(String job) {
                return client.manifest(job).map(m -> OptionalInt.of(m.total())).orElse(OptionalInt.empty());
            }
        };
    }
}
