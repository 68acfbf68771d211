package dev.imgscale.daemon.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.JobSummary;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultBatch;
import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The readers over an in-memory output bucket holding what workers of both releases write: one row
 * per name (the first in key order), both formats in one job, progress from the listing (exact
 * without redeliveries, "about" with them until a reader stores the exact counts), open jobs.
 */
class JobResultsTest {
    static final String JOB = "20261205-120000-abcdef";

    final InMemoryObjectStore output = new InMemoryObjectStore("output");
    final JobResults reader = new JobResults(() -> output, () -> "test", Clock.systemUTC());
    int seq;

    static ResultRecord row(String name, String error, int receives, String worker) {
        return new ResultRecord(1, JOB, name, error == null ? "label-of-" + worker : null, error == null ? 0.5f : null, null, error,
                error == null ? null : "bad", "m", worker, receives, 0, null);
    }

    /** A batch object as a worker writes it. */
    void batch(String worker, ResultRecord... rows) {
        List<ResultRecord> list = List.of(rows);
        output.put(ResultBatch.key(JOB, worker, 1764936000000L, ++seq, ResultBatch.countsOf(list)), ResultBatch.write(list),
                ResultBatch.CONTENT_TYPE);
    }

    /** A per-image object as the previous release wrote it. */
    void single(ResultRecord r) {
        output.put(Keys.result(JOB, r.name()), Json.bytes(r), "application/json");
    }

    void manifest(JobManifest m) {
        output.put(Keys.manifest(JOB), Json.bytes(m), "application/json");
    }

    List<String> readAll(JobManifest m, List<JobProgress> outcome) {
        List<String> printed = new ArrayList<>();
        outcome.add(reader.readAll(m, r -> printed.add(r.name() + "=" + (r.ok() ? r.label() : r.error())), () -> printed.add("|")));
        return printed;
    }

    @Test
    void should_give_one_row_per_name_from_both_formats_keeping_the_first_in_key_order() {
        JobManifest sealed = JobManifest.open(JOB, 0, "test").seal(5, 1);
        manifest(sealed);
        single(row("a.jpg", null, 1, "old"));                                  // results/J/a.jpg.json
        batch("w1", row("b.jpg", null, 1, "w1"), row("c.jpg", "CORRUPT", 1, "w1"));
        batch("w2", row("c.jpg", null, 2, "w2"), row("d.jpg", null, 2, "w2"), row("a.jpg", null, 2, "w2")); // redelivered
        batch("w2", row("e.jpg", null, 1, "w2"));

        List<JobProgress> outcome = new ArrayList<>();
        List<String> printed = readAll(sealed, outcome);
        assertEquals(List.of("a.jpg=label-of-old", "|", "b.jpg=label-of-w1", "c.jpg=CORRUPT", "|", "d.jpg=label-of-w2", "|",
                "e.jpg=label-of-w2", "|"), printed, "object by object in key order; a second row of a name dropped");
        assertEquals(new JobProgress(JOB, 5, 5, 1), outcome.get(0));
        assertTrue(outcome.get(0).complete());
        assertEquals(List.of("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"), reader.results(JOB).stream().map(ResultRecord::name).toList());
    }

    @Test
    void should_count_progress_from_the_listing_exactly_when_nothing_was_redelivered() {
        JobManifest sealed = JobManifest.open(JOB, 0, "test").seal(4, 1);
        manifest(sealed);
        batch("w1", row("a.jpg", null, 1, "w1"), row("b.jpg", "CORRUPT", 1, "w1"));
        batch("w2", row("c.jpg", null, 1, "w2"));
        long gets = output.calls(InMemoryObjectStore.Op.GET);
        JobProgress p = reader.progress(sealed);
        assertEquals(new JobProgress(JOB, 4, 3, 1, true), p);
        assertEquals(gets + 1, output.calls(InMemoryObjectStore.Op.GET),
                "one GET, of the summary a finished job would have; no result object read: the counts are in the keys");
        assertFalse(p.complete());
    }

    @Test
    void should_say_about_after_a_redelivery_until_a_reader_stores_the_exact_counts() {
        JobManifest sealed = JobManifest.open(JOB, 0, "test").seal(3, 1);
        manifest(sealed);
        batch("w1", row("a.jpg", null, 1, "w1"), row("b.jpg", null, 1, "w1"));
        batch("w2", row("b.jpg", null, 2, "w2")); // the first worker was killed before its deletes
        JobProgress listed = reader.progress(sealed);
        assertEquals(new JobProgress(JOB, 3, 3, 0, false), listed, "three rows, one maybe twice");
        assertFalse(listed.complete(), "not claimed complete on a count that may be one too high");

        List<JobProgress> outcome = new ArrayList<>();
        readAll(sealed, outcome);
        assertEquals(new JobProgress(JOB, 3, 2, 0), outcome.get(0), "read exactly: two of three");
        assertFalse(output.exists(Keys.summary(JOB)), "an unfinished job: no summary");

        batch("w2", row("c.jpg", "CORRUPT", 1, "w2"));
        outcome.clear();
        readAll(sealed, outcome);
        assertTrue(outcome.get(0).complete());
        assertEquals(new JobSummary(1, JOB, 3, 3, 1, 3), Json.read(output.get(Keys.summary(JOB)).orElseThrow(), JobSummary.class));
        assertEquals(new JobProgress(JOB, 3, 3, 1, true), reader.progress(sealed), "the stored counts");

        batch("w3", row("a.jpg", null, 3, "w3")); // yet another late copy: a finished job's counts stay
        long lists = output.calls(InMemoryObjectStore.Op.LIST);
        assertEquals(new JobProgress(JOB, 3, 3, 1, true), reader.progress(sealed));
        assertEquals(lists, output.calls(InMemoryObjectStore.Op.LIST), "the summary, not a listing");
    }

    @Test
    void should_list_a_finished_job_once_then_read_the_counts_it_stored() {
        JobManifest sealed = JobManifest.open(JOB, 0, "test").seal(3, 1);
        manifest(sealed);
        batch("w1", row("a.jpg", null, 1, "w1"), row("b.jpg", "CORRUPT", 1, "w1"));
        assertFalse(reader.progress(sealed).complete());
        assertFalse(output.exists(Keys.summary(JOB)), "an unfinished job: nothing stored");

        batch("w2", row("c.jpg", null, 1, "w2"));
        long lists = output.calls(InMemoryObjectStore.Op.LIST);
        assertEquals(new JobProgress(JOB, 3, 3, 1, true), reader.progress(sealed), "finished, from the listing");
        assertEquals(lists + 1, output.calls(InMemoryObjectStore.Op.LIST));
        assertEquals(new JobSummary(1, JOB, 3, 3, 1, 2), Json.read(output.get(Keys.summary(JOB)).orElseThrow(), JobSummary.class),
                "the first reader to see it finished stores its counts");

        long puts = output.calls(InMemoryObjectStore.Op.PUT);
        for (int i = 0; i < 3; i++) {
            assertEquals(new JobProgress(JOB, 3, 3, 1, true), reader.progress(sealed));
        }
        assertEquals(lists + 1, output.calls(InMemoryObjectStore.Op.LIST), "then no listing, whatever the job's size");

        List<JobProgress> outcome = new ArrayList<>();
        readAll(sealed, outcome);
        assertEquals(puts, output.calls(InMemoryObjectStore.Op.PUT), "a reader of every row stores nothing new when the counts agree");
    }

    @Test
    void should_never_call_an_open_job_complete() {
        JobManifest open = JobManifest.open(JOB, 0, "test");
        manifest(open);
        batch("w1", row("a.jpg", null, 1, "w1"), row("b.jpg", null, 1, "w1"));
        JobProgress p = reader.progress(open);
        assertEquals(new JobProgress(JOB, -1, 2, 0, true), p);
        assertTrue(p.open());
        assertFalse(p.complete());
        JobProgress followed = reader.follow(JOB, r -> { }, Duration.ofMillis(10), Duration.ZERO, () -> false);
        assertTrue(followed.open(), "the timeout ends a follow of an open job, not completion");
        assertEquals(2, followed.done());
    }

    @Test
    void should_pace_a_follow_quickly_while_objects_come_and_by_the_size_of_the_listing() {
        assertEquals(200, JobResults.nextPause(1000, true, 40, 1000), "new objects: look again soon");
        assertEquals(400, JobResults.nextPause(200, false, 40, 1000), "none: back off");
        assertEquals(1000, JobResults.nextPause(800, false, 40, 1000), "to the poll interval");
        assertEquals(1000, JobResults.nextPause(200, true, 1_500, 1000), "two pages a listing: a poll between");
        assertEquals(9000, JobResults.nextPause(200, true, 10_000, 1000),
                "a million images (ten pages): about one LIST a second, as for a small job");
        assertEquals(10, JobResults.nextPause(200, true, 40, 10), "never slower than asked for a small job");
    }

    @Test
    void should_follow_a_sealed_job_to_its_end_printing_each_name_once() {
        manifest(JobManifest.open(JOB, 0, "test").seal(2, 1));
        batch("w1", row("a.jpg", null, 1, "w1"));
        batch("w2", row("a.jpg", null, 2, "w2"), row("b.jpg", null, 1, "w2"));
        List<String> printed = new ArrayList<>();
        JobProgress p = reader.follow(JOB, r -> printed.add(r.name()), Duration.ofMillis(10), Duration.ofSeconds(30), () -> false);
        assertEquals(List.of("a.jpg", "b.jpg"), printed);
        assertEquals(new JobProgress(JOB, 2, 2, 0), p);
    }

    @Test
    void should_read_a_job_of_the_previous_release_as_before() {
        JobManifest v1 = JobManifest.v1(JOB, 0, "test", List.of("a.jpg", "b.jpg"));
        manifest(v1);
        single(row("a.jpg", null, 1, "old"));
        single(row("b.jpg", "CORRUPT", 1, "old"));
        assertEquals(new JobProgress(JOB, 2, 2, 1), reader.progress(v1), "errors of per-image results are read, as before");
        List<String> printed = new ArrayList<>();
        assertEquals(new JobProgress(JOB, 2, 2, 1), reader.follow(JOB, r -> printed.add(r.name()), Duration.ofMillis(10),
                Duration.ofSeconds(30), () -> false));
        assertEquals(List.of("a.jpg", "b.jpg"), printed);
    }
}
