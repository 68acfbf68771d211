package dev.imgscale.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The batch format: keys that carry their counts, JSON Lines that round-trip, and torn lines skipped. */
class ResultBatchTest {
    static final String JOB = "20261205-120000-abcdef";

    static ResultRecord row(String name, String error, int receives) {
        return new ResultRecord(1, JOB, name, error == null ? "macaw" : null, error == null ? 0.9f : null,
                error == null ? List.of(new ResultRecord.Label("macaw", 0.9f, 88)) : null, error, error == null ? null : "bad",
                "m", "ip-10-0-0-1:4242", receives, 5, 3L, "s3://photos/" + name);
    }

    @Test
    void should_put_the_counts_in_the_key_and_read_them_back_from_it() {
        List<ResultRecord> rows = List.of(row("a.jpg", null, 1), row("b.jpg", "CORRUPT", 1), row("c.jpg", null, 3));
        ResultBatch.Counts counts = ResultBatch.countsOf(rows);
        assertEquals(new ResultBatch.Counts(3, 1, 1), counts);
        String key = ResultBatch.key(JOB, "ip-10-0-0-1:4242", 1764936000000L, 7, counts);
        assertEquals("results/" + JOB + "/ip_10_0_0_1_4242-1764936000000-000007-n3-e1-r1.jsonl", key);
        assertEquals(Optional.of(counts), ResultBatch.counts(JOB, key));
    }

    @Test
    void should_tell_batch_keys_from_per_image_results_and_other_jobs() {
        assertEquals(Optional.empty(), ResultBatch.counts(JOB, Keys.result(JOB, "x-n1-e0-r0.jsonl")), "a per-image result ends in .json");
        assertNull(Keys.nameOfResult(JOB, ResultBatch.key(JOB, "w", 1, 1, new ResultBatch.Counts(1, 0, 0))));
        assertEquals(Optional.empty(), ResultBatch.counts("20261205-120000-000000", ResultBatch.key(JOB, "w", 1, 1,
                new ResultBatch.Counts(1, 0, 0))));
        assertEquals(Optional.empty(), ResultBatch.counts(JOB, "results/" + JOB + "/notes.jsonl"));
    }

    @Test
    void should_make_any_worker_id_fit_a_key() {
        assertEquals("host.example.com_17", ResultBatch.workerPart("host.example.com:17"));
        assertEquals("i_0abc", ResultBatch.workerPart("i/0abc"));
        assertEquals("caf_", ResultBatch.workerPart("café"));
        assertEquals("worker", ResultBatch.workerPart(""));
        assertEquals(64, ResultBatch.workerPart("x".repeat(300)).length());
    }

    @Test
    void should_round_trip_rows_with_their_sources_and_skip_a_torn_line() {
        List<ResultRecord> rows = List.of(row("a.jpg", null, 1), row("sub/b, \"quoted\".jpg", "CORRUPT", 2));
        byte[] object = ResultBatch.write(rows);
        String text = new String(object, StandardCharsets.UTF_8);
        assertEquals(2, text.lines().count());
        List<ResultRecord> read = new ArrayList<>();
        List<String> bad = new ArrayList<>();
        ResultBatch.read(object, read::add, bad::add);
        assertEquals(rows, read);
        assertEquals("s3://photos/a.jpg", read.get(0).source());

        byte[] torn = (text + "{\"v\":1,\"job\":\"" + JOB + "\",\"na").getBytes(StandardCharsets.UTF_8);
        read.clear();
        ResultBatch.read(torn, read::add, bad::add);
        assertEquals(rows, read, "the whole lines still read");
        assertEquals(1, bad.size());
        assertEquals("line 3", bad.get(0).substring(0, 6));
    }
}
