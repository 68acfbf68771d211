package dev.imgscale.daemon.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.wire.ResultRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The watcher's behaviour, poll by poll in fake time, over results kept in memory: one listing per
 * job and poll however many wait, only awaited results read, deadlines by the clock, streams that
 * get each result once, resets, and the polling pace.
 */
class ResultWatcherTest {
    static final String JOB = "20261205-120000-abcdef";

    /** The output bucket's results and manifests, in memory, counting what the watcher reads. */
    static final class Results implements ResultSource {
        final Map<String, Map<String, ResultRecord>> results = new ConcurrentHashMap<>();
        final Map<String, Integer> totals = new ConcurrentHashMap<>();
        final AtomicInteger listings = new AtomicInteger();
        final AtomicInteger reads = new AtomicInteger();
        final AtomicBoolean failing = new AtomicBoolean();

        void put(String job, String name, boolean ok) {
            results.computeIfAbsent(job, j -> new ConcurrentHashMap<>()).put(name, new ResultRecord(1, job, name,
                    ok ? "macaw" : null, ok ? 0.9f : null, null, ok ? null : "CORRUPT", ok ? null : "cut short", "m", "w", 1, 0, null));
        }

        @Override
        public List<String> resultNames(String job) {
            if (failing.get()) {
                throw new IllegalStateException("the bucket cannot be reached");
            }
            listings.incrementAndGet();
            return List.copyOf(results.getOrDefault(job, Map.of()).keySet());
        }

        @Override
        public Optional<ResultRecord> result(String job, String name) {
            reads.incrementAndGet();
            return Optional.ofNullable(results.getOrDefault(job, Map.of()).get(name));
        }

        @Override
        public OptionalInt manifestTotal(String job) {
            Integer t = totals.get(job);
            return t == null ? OptionalInt.empty() : OptionalInt.of(t);
        }
    }

    /** A stream's view: what it was sent, in order. */
    static final class Stream implements ResultWatcher.Subscriber {
        final List<String> events = new ArrayList<>();
        volatile boolean open = true;

        @Override
        public void result(ResultRecord record) {
            events.add("result " + record.name());
        }

        @Override
        public void progress(ResultWatcher.Progress p) {
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

    final MutableClock clock = new MutableClock(1_700_000_000_000L);
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
        results.put(JOB, "other.jpg", true); // nobody waits for it: never read
        watcher.pollOnce();
        assertEquals(1, results.listings.get(), "one listing for a hundred waiters");
        assertEquals(0, results.reads.get());
        for (int i = 0; i < 50; i++) {
            results.put(JOB, "img" + i + ".jpg", true);
        }
        watcher.pollOnce();
        assertEquals(2, results.listings.get());
        assertEquals(50, results.reads.get(), "only the results someone waits for are read");
        for (int i = 0; i < 100; i++) {
            assertEquals(i < 50, waiting.get(i).isDone(), "waiter " + i);
        }
        assertEquals("img7.jpg", waiting.get(7).get().name());
        assertEquals(50, watcher.waiting());
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
        int listings = results.listings.get();
        watcher.pollOnce();
        assertEquals(listings, results.listings.get(), "a job nobody waits on any more is not listed");
    }

    @Test
    void should_stream_the_results_that_exist_then_each_new_one_once_with_progress() {
        results.totals.put(JOB, 3);
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
        assertEquals(Optional.of(new ResultWatcher.Progress(JOB, 3, 3, 1)), watcher.progress(JOB));

        // a waiter for an image the stream has read is answered from it, without a read of its own
        int reads = results.reads.get();
        CompletableFuture<ResultRecord> late = watcher.await(JOB, "b.jpg", Duration.ofSeconds(5));
        watcher.pollOnce();
        assertTrue(late.isDone());
        assertEquals(reads, results.reads.get());

        stream.open = false; // the page went away
        watcher.pollOnce();
        watcher.pollOnce();
        assertEquals(Optional.empty(), watcher.progress(JOB), "a job nobody watches is dropped");
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
        results.failing.set(true);
        results.put(JOB, "a.jpg", true);
        watcher.pollOnce();
        assertFalse(f.isDone());
        results.failing.set(false);
        watcher.pollOnce();
        assertEquals("a.jpg", f.get().name());
    }

    static List<String> sorted(List<String> events) {
        List<String> out = new ArrayList<>(events);
        out.sort(null);
        return out;
    }
}
