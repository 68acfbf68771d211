package dev.imgscale.daemon.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.testing.FakeTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The upload gate's rules in fake time: slots per client, waiting in turn, 408 for slow bodies, 429 for a long wait. */
class UploadGateTest {
    final FakeTime clock = new FakeTime();
    final List<String> events = new ArrayList<>();

    /** An upload that records what the gate does with it. */
    final class Recorded implements UploadGate.Upload {
        final String name;
        final String client;
        UploadGate.Ticket ticket;

        Recorded(String name, String client) {
            this.name = name;
            this.client = client;
        }

        @Override
        public String client() {
            return client;
        }

        @Override
        public void start() {
            events.add(name + " start");
        }

        @Override
        public void refuse(int status, String message) {
            events.add(name + " " + status);
        }
    }

    Recorded admit(UploadGate gate, String name, String client) {
        Recorded r = new Recorded(name, client);
        r.ticket = gate.ticket(r);
        gate.admit(r.ticket);
        return r;
    }

    @Test
    void should_read_a_few_bodies_per_client_and_start_the_next_when_one_ends() {
        UploadGate gate = new UploadGate(new UploadPolicy(Duration.ofSeconds(30), 0, 2), clock.clock());
        Recorded a = admit(gate, "a", "10.0.0.1");
        Recorded b = admit(gate, "b", "10.0.0.1");
        Recorded c = admit(gate, "c", "10.0.0.1");
        admit(gate, "x", "10.0.0.2");
        assertEquals(List.of("a start", "b start", "x start"), events, "c waits: its client has two under way");
        assertEquals(3, gate.reading());
        assertEquals(1, gate.waiting());

        gate.done(a.ticket);
        gate.done(a.ticket); // ending twice frees one slot, not two
        assertEquals(List.of("a start", "b start", "x start", "c start"), events);
        assertEquals(0, gate.waiting());
        gate.done(b.ticket);
        gate.done(c.ticket);
        admit(gate, "d", "10.0.0.1");
        admit(gate, "e", "10.0.0.1");
        assertEquals(List.of("a start", "b start", "x start", "c start", "d start", "e start"), events);
    }

    @Test
    void should_refuse_408_a_body_idle_for_the_timeout_and_not_one_that_keeps_coming() {
        UploadGate gate = new UploadGate(new UploadPolicy(Duration.ofSeconds(30), 0, 8), clock.clock());
        Recorded idle = admit(gate, "idle", "c");
        Recorded busy = admit(gate, "busy", "c");
        events.clear();
        for (int s = 0; s < 29; s++) {
            clock.advance(Duration.ofSeconds(1));
            gate.received(busy.ticket, 10);
            gate.sweep();
        }
        assertEquals(List.of(), events, "29 s without a byte is within the timeout");
        clock.advance(Duration.ofSeconds(1));
        gate.received(busy.ticket, 10);
        gate.sweep();
        assertEquals(List.of("idle 408"), events);
        assertEquals(1, gate.timedOut());
        assertEquals(1, gate.reading(), "its slot is free");
        gate.sweep();
        assertEquals(List.of("idle 408"), events, "refused once");
        assertEquals(idle.client, "c");
    }

    @Test
    void should_refuse_408_a_body_under_the_minimum_rate_once_the_grace_has_passed() {
        UploadGate gate = new UploadGate(new UploadPolicy(Duration.ofSeconds(10), 1000, 8), clock.clock());
        Recorded crawl = admit(gate, "crawl", "c");
        Recorded fast = admit(gate, "fast", "c");
        events.clear();
        gate.received(fast.ticket, 50_000); // 10 s worth at once, then 1 kB/s: on the floor, never under it
        for (int s = 1; s <= 60; s++) {
            clock.advance(Duration.ofSeconds(1));
            gate.received(crawl.ticket, 100); // 100 B/s: never idle, far too slow
            gate.received(fast.ticket, 1000);
            gate.sweep();
            if (s < 10) {
                assertEquals(List.of(), events, "within the grace at " + s + " s");
            }
        }
        assertEquals(List.of("crawl 408"), events);
    }

    @Test
    void should_refuse_429_an_upload_that_waited_the_timeout_for_its_turn() {
        UploadGate gate = new UploadGate(new UploadPolicy(Duration.ofSeconds(30), 0, 1), clock.clock());
        Recorded first = admit(gate, "first", "c");
        clock.advance(Duration.ofSeconds(20));
        admit(gate, "second", "c");
        clock.advance(Duration.ofSeconds(9));
        gate.received(first.ticket, 1);
        gate.sweep();
        assertEquals(List.of("first start"), events);
        clock.advance(Duration.ofSeconds(21));
        gate.received(first.ticket, 1);
        gate.sweep();
        assertEquals(List.of("first start", "second 429"), events);
        assertEquals(1, gate.turnedAway());
        assertEquals(0, gate.waiting());
        gate.done(first.ticket);
        assertEquals(0, gate.reading());
    }

    @Test
    void should_say_why_a_body_is_too_slow() {
        UploadPolicy policy = new UploadPolicy(Duration.ofSeconds(30), 1024, 8);
        assertNull(policy.tooSlow(0, 29_000, 10, 29_999));
        assertTrue(policy.tooSlow(0, 0, 10, 30_000).contains("--upload-idle-timeout"));
        assertNull(policy.tooSlow(0, 59_000, 60 * 1024, 60_000), "exactly the minimum rate");
        assertTrue(policy.tooSlow(0, 59_000, 60 * 1024 - 1, 60_000).contains("--min-upload-rate"));
        assertNull(new UploadPolicy(Duration.ofSeconds(30), 0, 8).tooSlow(0, 59_000, 1, 60_000), "0: no rate floor");
    }
}
