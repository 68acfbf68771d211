package dev.imgscale.daemon.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.client.ResultListing;
import dev.imgscale.daemon.client.ResultObjects;
import dev.imgscale.daemon.wire.ResultBatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The watcher's behaviour in fake time over the in-memory output bucket, results and manifests
 * stored as workers and the client write them: one listing per job and poll however many wait,
 * each object read once (batches and per-image results alike), one row per name, deadlines by the clock, streams that get each result once, resets,
 * the polling pace, and its own thread pausing in fake time.
 */
class ResultWatcherTest {
    static final String JOB = "20261205-120000-abcdef";

    /**
     * The three reads of {@code ResultSource.of(JobClient)}, made here on the in-memory bucket with
     * the same keys and formats (a JobClient needs the AWS-backed stack context).
     */
    static final class Results implements ResultSource {
        final InMemoryObjectStore output = new InMemoryObjectStore("output");

        void put(String job, String name, boolean ok) {
            output.put(Keys.result(job, name), Json.bytes(new ResultRecord(1, job, name, ok ? "macaw" : null, ok ? 0.9f : null, null,
                    ok ? null : "CORRUPT", ok ? null : "cut short", "m", "w", 1, 0, null)), "application/json");
        }

        void manifest(String job, int images) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < images; i++) {
                names.add("m" + i);
            }
            output.put(Keys.manifest(job), Json.bytes(JobManifest.v1(job, 0, "test", names)), "application/json");
        }

        long listings() {
            return output.calls(InMemoryObjectStore.Op.LIST);
        }

        long reads() {
            return output.calls(InMemoryObjectStore.Op.GET);
        }

        /** One batch object as a worker writes it, of the names given (receives 2 for those after '!'). */
        void putBatch(String job, int seq, String... names) {
            List<ResultRecord> rows = new ArrayList<>();
            for (String n : names) {
                boolean again = n.startsWith("!");
                String name = again ? n.substring(1) : n;
                rows.add(new ResultRecord(1, job, name, "macaw", 0.9f, null, null, null, "m", "w", again ? 2 : 1, 0, null));
            }
            output.put(ResultBatch.key(job, "w", 1, seq, ResultBatch.countsOf(rows)), ResultBatch.write(rows), ResultBatch.CONTENT_TYPE);
        }

        @Override
        public List<String> resultKeys(String job) {
            return ResultListing.of(output, job).keys();
        }

        @Override
        public List<ResultRecord> read(String job, String key) {
            return ResultObjects.read(output, job, key);
        }

        @Override
        public OptionalInt manifestTotal(String job) {
            return output.get(Keys.manifest(job)).map(b -> Json.read(b, JobManifest.class)).filter(JobManifest::sealed)
                    .map(m -> OptionalInt.of(m.count())).orElse(OptionalInt.empty());
        }
    }

    /** A stream's view: what it was sent, in order. */
    static final class Stream implements ResultSubscriber {
        final List<String> events = new ArrayList<>();
        volatile boolean open = true;

        @Override
        public void result(ResultRecord record) {
            events.add("result " + record.name());
        }

        @Override
        public void progress(JobProgress p) {
            events.add("progress " + p.done() + "/" + p.total() + " failed " + p.failed() + (p.complete() ? " complete" : ""));
        }

        @Override
        public void gone() {
            events.add("gone");
        }

        @Override
        public boolean open() {
            return open;
        }
    }

    final FakeTime clock = new FakeTime();
    final Results results = new Results();
    final ResultWatcher watcher = ResultWatcher.manual(results, job -> OptionalInt.empty(), clock);

    @AfterEach
    void close() {
        watcher.close();
    }

    @Test
    void should_answer_each_waiter_with_its_result_from_one_listing_per_poll() throws Exception {
        List<CompletableFuture<ResultRecord>> waiting = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            waiting.add(watcher.await(JOB, "img" + i + ".jpg", Duration.ofMinutes(5)));
        }
        results.put(JOB, "other.jpg", true); // nobody waits for it: read once all the same (it might be in a batch)
        watcher.pollOnce();
        assertEquals(1, results.listings(), "one listing for a hundred waiters");
        assertEquals(1, results.reads());
        String[] batch = new String[40];
        for (int i = 0; i < 40; i++) {
            batch[i] = "img" + i + ".jpg";
        }
        results.putBatch(JOB, 1, batch);
        for (int i = 40; i < 50; i++) {
            results.put(JOB, "img" + i + ".jpg", true);
        }
        watcher.pollOnce();
        assertEquals(2, results.listings());
        assertEquals(1 + 1 + 10, results.reads(), "each new object read once: a batch of 40 is one read");
        watcher.pollOnce();
        assertEquals(12, results.reads(), "nothing read twice");
        for (int i = 0; i < 100; i++) {
            assertEquals(i < 50, waiting.get(i).isDone(), "waiter " + i);
        }
        assertEquals("img7.jpg", waiting.get(7).get().name());
        assertEquals(50, watcher.waiting());
    }

    @Test
    void should_keep_a_bounded_number_of_rows_for_late_streams_while_counting_every_image() {
        int images = WatchedJob.KEPT_ROWS + 2_500;
        results.manifest(JOB, images + 1);
        int seq = 0;
        for (int first = 0; first < images; first += 500) {
            String[] names = new String[Math.min(500, images - first)];
            for (int i = 0; i < names.length; i++) {
                names[i] = "img" + (first + i) + ".jpg";
            }
            results.putBatch(JOB, ++seq, names);
        }
        results.putBatch(JOB, ++seq, "!img3.jpg"); // a redelivered copy: counted once
        Stream first = new Stream();
        watcher.subscribe(JOB, first);
        watcher.pollOnce();
        assertEquals(images + 1, first.events.size(), "the one stream watching as the rows came got all of them");
        assertEquals("progress " + images + "/" + (images + 1) + " failed 0", first.events.get(images));

        Stream late = new Stream();
        watcher.subscribe(JOB, late);
        watcher.pollOnce();
        assertEquals(WatchedJob.KEPT_ROWS + 1, late.events.size(), "a late joiner: the rows kept, not every row held");
        assertEquals("result img0.jpg", late.events.get(0), "the first rows, in the order read");
        assertEquals("progress " + images + "/" + (images + 1) + " failed 0", late.events.get(WatchedJob.KEPT_ROWS),
                "and the whole counts");

        results.putBatch(JOB, ++seq, "img" + images + ".jpg");
        watcher.pollOnce();
        assertEquals("result img" + images + ".jpg", late.events.get(WatchedJob.KEPT_ROWS + 1), "then each new one");
        assertEquals("progress " + (images + 1) + "/" + (images + 1) + " failed 0 complete", late.events.get(WatchedJob.KEPT_ROWS + 2));
    }

    @Test
    void should_answer_a_waiter_registered_during_the_poll_that_read_its_row() throws Exception {
        for (int i = 0; i < WatchedJob.KEPT_ROWS; i++) {
            results.put(JOB, "k" + i + ".jpg", true); // the kept rows are full
        }
        Stream stream = new Stream();
        watcher.subscribe(JOB, stream);
        watcher.pollOnce();
        results.putBatch(JOB, 1, "late.jpg");
        watcher.pollOnce(); // reads late.jpg's row: nobody waits for it yet
        CompletableFuture<ResultRecord> f = watcher.await(JOB, "late.jpg", Duration.ofMinutes(1));
        watcher.pollOnce();
        assertTrue(f.isDone(), "found among the rows the last poll read, past the kept ones");
        assertEquals("late.jpg", f.get().name());
    }

    @Test
    void should_fail_a_waiter_with_a_timeout_at_its_deadline_by_the_clock() {
        CompletableFuture<ResultRecord> f = watcher.await(JOB, "a.jpg", Duration.ofSeconds(10));
        clock.advance(Duration.ofMillis(9_999));
        watcher.pollOnce();
        assertFalse(f.isDone(), "before its deadline");
        clock.advance(Duration.ofMillis(1));
        watcher.pollOnce();
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, f::get);
        assertInstanceOf(TimeoutException.class, e.getCause());
        assertEquals(0, watcher.waiting());
        results.put(JOB, "a.jpg", true);
        long listings = results.listings();
        watcher.pollOnce();
        assertEquals(listings, results.listings(), "a job nobody waits on any more is not listed");
    }

    @Test
    void should_stream_the_results_that_exist_then_each_new_one_once_with_progress() {
        results.manifest(JOB, 3);
        results.put(JOB, "a.jpg", true);
        results.put(JOB, "b.jpg", true);
        Stream stream = new Stream();
        watcher.subscribe(JOB, stream);
        watcher.pollOnce();
        assertEquals(List.of("result a.jpg", "result b.jpg"), sorted(stream.events.subList(0, 2)), "those that exist, in any order");
        assertEquals(List.of("progress 2/3 failed 0"), stream.events.subList(2, stream.events.size()));
        watcher.pollOnce();
        assertEquals(3, stream.events.size(), "nothing new, nothing sent");
        results.put(JOB, "c.jpg", false);
        watcher.pollOnce();
        assertEquals(List.of("result c.jpg", "progress 3/3 failed 1 complete"), stream.events.subList(3, 5));
        assertEquals(Optional.of(new JobProgress(JOB, 3, 3, 1)), watcher.progress(JOB));

        // a waiter for an image the stream has read is answered from it, without a read of its own
        long reads = results.reads();
        CompletableFuture<ResultRecord> late = watcher.await(JOB, "b.jpg", Duration.ofSeconds(5));
        watcher.pollOnce();
        assertTrue(late.isDone());
        assertEquals(reads, results.reads());

        stream.open = false; // the page went away
        watcher.pollOnce();
        watcher.pollOnce();
        assertEquals(Optional.empty(), watcher.progress(JOB), "a job nobody watches is dropped");
    }

    @Test
    void should_stream_one_row_per_name_from_batches_and_per_image_results_mixed() {
        results.manifest(JOB, 4);
        results.put(JOB, "a.jpg", true); // written by the previous release
        results.putBatch(JOB, 1, "b.jpg", "c.jpg");
        results.putBatch(JOB, 2, "!c.jpg", "!a.jpg", "d.jpg"); // a redelivery wrote c and a again
        Stream stream = new Stream();
        watcher.subscribe(JOB, stream);
        watcher.pollOnce();
        assertEquals(List.of("result a.jpg", "result b.jpg", "result c.jpg", "result d.jpg"), sorted(stream.events.subList(0, 4)));
        assertEquals(List.of("progress 4/4 failed 0 complete"), stream.events.subList(4, stream.events.size()),
                "distinct names, not rows");
    }

    @Test
    void should_fail_waiters_and_tell_streams_when_the_job_is_reset() {
        CompletableFuture<ResultRecord> f = watcher.await(JOB, "a.jpg", Duration.ofMinutes(5));
        Stream stream = new Stream();
        watcher.subscribe(JOB, stream);
        watcher.pollOnce();
        watcher.gone(JOB);
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, f::get);
        assertInstanceOf(JobGoneException.class, e.getCause());
        assertEquals("gone", stream.events.get(stream.events.size() - 1));
    }

    @Test
    void should_poll_fast_while_results_come_and_back_off_when_none_do() {
        assertEquals(ResultWatcher.IDLE_MS, watcher.pollOnce(), "nothing watched: sleep until woken");
        watcher.await(JOB, "a.jpg", Duration.ofMinutes(5));
        assertEquals(ResultWatcher.FAST_MS, watcher.pollOnce(), "a new waiter: at once");
        assertEquals(200, watcher.pollOnce());
        assertEquals(ResultWatcher.SLOW_WAITING_MS, watcher.pollOnce(), "requests wait: at most 250 ms apart");
        assertEquals(ResultWatcher.SLOW_WAITING_MS, watcher.pollOnce());
        results.put(JOB, "a.jpg", true);
        results.put(JOB, "b.jpg", true);
        watcher.subscribe(JOB, new Stream());
        assertEquals(ResultWatcher.FAST_MS, watcher.pollOnce(), "results came: fast again");
        long interval = 0;
        for (int i = 0; i < 6; i++) {
            interval = watcher.pollOnce();
        }
        assertEquals(ResultWatcher.SLOW_STREAMING_MS, interval, "only a stream watches: once a second");
    }

    @Test
    void should_keep_polling_a_job_whose_results_cannot_be_read_for_a_while() throws Exception {
        CompletableFuture<ResultRecord> f = watcher.await(JOB, "a.jpg", Duration.ofMinutes(5));
        results.output.inject(InMemoryObjectStore.Op.LIST, prefix -> new IllegalStateException("the bucket cannot be reached"));
        results.put(JOB, "a.jpg", true);
        watcher.pollOnce();
        assertFalse(f.isDone());
        results.output.inject(InMemoryObjectStore.Op.LIST, null);
        watcher.pollOnce();
        assertEquals("a.jpg", f.get().name());
    }

    @Test
    void should_pause_its_own_thread_in_fake_time_and_time_a_waiter_out_when_the_time_comes() throws Exception {
        FakeTime time = new FakeTime();
        ResultWatcher threaded = ResultWatcher.start(results, job -> OptionalInt.empty(), time);
        try {
            CompletableFuture<ResultRecord> answered = threaded.await(JOB, "a.jpg", Duration.ofMinutes(5));
            CompletableFuture<ResultRecord> late = threaded.await(JOB, "b.jpg", Duration.ofSeconds(30));
            time.awaitSleepers(1);
            results.put(JOB, "a.jpg", true);
            time.advanceSettling(Duration.ofSeconds(1), Duration.ofMillis(50), 1);
            assertEquals("a.jpg", answered.get(20, java.util.concurrent.TimeUnit.SECONDS).name());
            assertFalse(late.isDone());
            time.advanceSettling(Duration.ofSeconds(28), Duration.ofMillis(250), 1);
            assertFalse(late.isDone(), "29 s: not yet");
            time.advanceSettling(Duration.ofSeconds(2), Duration.ofMillis(250), 1);
            FakeTime.awaitReal(late::isDone, () -> "the loop polls past the deadline");
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, late::get);
            assertInstanceOf(TimeoutException.class, e.getCause());
            long listings = results.listings();
            assertTrue(listings > 20 && listings < 200, "about one listing per 250 ms of fake time, not per millisecond: " + listings);
        } finally {
            threaded.close();
        }
    }

    static List<String> sorted(List<String> events) {
        List<String> out = new ArrayList<>(events);
        out.sort(null);
        return out;
    }
}
