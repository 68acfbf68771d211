package dev.imgscale.daemon.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.port.ControllerLease;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.testing.InMemoryWorkQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The controller's loop in fake time: a tick every interval while it holds the lease, a prompt stop. */
@Timeout(60)
class ControllerLoopTest {
    static final Duration INTERVAL = Duration.ofSeconds(5);

    final FakeTime time = new FakeTime();
    final InMemoryWorkQueue requests = new InMemoryWorkQueue("requests", time);
    final CountingFleet fleet = new CountingFleet();
    final Lease lease = new Lease();
    final List<ControllerEvent> events = new CopyOnWriteArrayList<>();
    final ControllerLoop loop = new ControllerLoop(new Controller(fleet, requests::depth,
            new ObjectStoreWorkerBoard(new InMemoryObjectStore("output")), BacklogPolicy.defaults(), time.clock(),
            new Controller.Settings(3, Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60), false),
            events::add), lease, INTERVAL, time);
    Thread thread;

    @AfterEach
    void stop() throws InterruptedException {
        loop.beginShutdown();
        assertTrue(loop.awaitShutdown(Duration.ofSeconds(10)));
    }

    void start() {
        thread = new Thread(loop, "controller-under-test");
        thread.setDaemon(true);
        thread.start();
    }

    @Test
    void should_tick_once_per_interval_of_its_time() {
        requests.send(List.of("a", "b", "c", "d"));
        start();
        time.awaitSleepers(1);
        assertEquals(ControllerLoop.State.RUNNING, loop.state());
        assertEquals(1, fleet.lists.get());
        int launched = fleet.instances.size();
        assertTrue(launched >= 1, "the first tick launched workers for the backlog");
        assertEquals(launched, events.stream().filter(e -> e.kind() == ControllerEvent.Kind.LAUNCH).count());

        time.advance(INTERVAL.minusMillis(1));
        time.awaitSleepers(1);
        assertEquals(1, fleet.lists.get(), "no tick before the interval");
        time.advance(Duration.ofMillis(1));
        time.awaitSleepers(1);
        assertEquals(2, fleet.lists.get());
        time.advanceSettling(INTERVAL.multipliedBy(10), INTERVAL, 1);
        assertEquals(12, fleet.lists.get());
        assertTrue(fleet.instances.size() <= 3, "never above the cap: " + fleet.instances.size());
    }

    @Test
    void should_wait_for_the_lease_and_tick_once_it_holds_it() {
        lease.grant.set(false);
        start();
        time.awaitSleepers(1);
        assertEquals(ControllerLoop.State.WAITING_FOR_LEASE, loop.state());
        time.advanceSettling(INTERVAL.multipliedBy(3), INTERVAL, 1);
        assertEquals(0, fleet.lists.get(), "no tick without the lease");
        assertEquals(4, lease.attempts.get());

        lease.grant.set(true);
        time.advance(INTERVAL);
        time.awaitSleepers(1);
        assertEquals(ControllerLoop.State.RUNNING, loop.state());
        assertEquals(1, fleet.lists.get());
    }

    @Test
    void should_carry_on_after_a_failed_tick() {
        fleet.failure = new IllegalStateException("EC2 unreachable (test)");
        start();
        time.awaitSleepers(1);
        assertEquals(1, fleet.lists.get());
        fleet.failure = null;
        time.advance(INTERVAL);
        time.awaitSleepers(1);
        assertEquals(2, fleet.lists.get());
        assertEquals(ControllerLoop.State.RUNNING, loop.state());
    }

    @Test
    void should_stop_at_once_and_give_up_the_lease() throws Exception {
        start();
        time.awaitSleepers(1);
        loop.beginShutdown();
        assertTrue(loop.awaitShutdown(Duration.ofSeconds(10)), "the loop waited out its interval");
        assertEquals(0, time.elapsedMillis());
        assertEquals(ControllerLoop.State.STOPPED, loop.state());
        assertTrue(lease.closed.get());
    }

    static final class Lease implements ControllerLease {
        final AtomicBoolean grant = new AtomicBoolean(true);
        final AtomicBoolean closed = new AtomicBoolean();
        final AtomicInteger attempts = new AtomicInteger();

        @Override
        public boolean acquire() {
            attempts.incrementAndGet();
            return grant.get();
        }

        @Override
        public void close() {
            closed.set(true);
        }
    }

    final class CountingFleet implements Fleet {
        final AtomicInteger lists = new AtomicInteger();
        final List<FleetInstance> instances = new CopyOnWriteArrayList<>();
        volatile RuntimeException failure;

        @Override
        public String kind() {
            return "virtual";
        }

        @Override
        public List<FleetInstance> list() {
            lists.incrementAndGet();
            RuntimeException f = failure;
            if (f != null) {
                throw f;
            }
            return new ArrayList<>(instances);
        }

        @Override
        public List<FleetInstance> launch(int count, String clientToken) {
            List<FleetInstance> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                out.add(new FleetInstance("w" + (instances.size() + out.size() + 1), FleetInstance.State.RUNNING, time.instant(), Map.of()));
            }
            instances.addAll(out);
            return out;
        }

        @Override
        public void markDraining(Collection<String> ids, boolean draining) {
        }

        @Override
        public void terminate(Collection<String> ids) {
            instances.removeIf(i -> ids.contains(i.id()));
        }
    }
}
