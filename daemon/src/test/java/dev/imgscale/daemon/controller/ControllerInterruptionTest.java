package dev.imgscale.daemon.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.port.LaunchOutcome;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * How the controller reads a worker that EC2 is interrupting (capacity leaving, to replace; not a
 * failure, not a drain to cancel), and the launch outcomes it publishes for {@code status}.
 */
class ControllerInterruptionTest {
    final FakeTime time = new FakeTime();
    final InMemoryObjectStore output = new InMemoryObjectStore("output");
    final ObjectStoreWorkerBoard board = new ObjectStoreWorkerBoard(output);
    final ListedFleet fleet = new ListedFleet();
    final List<ControllerEvent> events = new CopyOnWriteArrayList<>();

    Controller controller(long visible) {
        return new Controller(fleet, () -> new QueueDepth(visible, 20, 0), board, BacklogPolicy.defaults(), time.clock(),
                new Controller.Settings(10, Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60),
                        false), events::add);
    }

    void worker(String id, WorkerState state, int inHand) {
        fleet.instances.add(new FleetInstance(id, FleetInstance.State.RUNNING, time.instant().minusSeconds(600), Map.of()));
        // booted in 20 s, 1 s per image
        board.report(new WorkerStatus(WorkerStatus.VERSION, id, state, inHand, 100, 1000, time.millis() - 580_000, 0, time.millis()));
    }

    @Test
    void should_replace_an_interrupted_worker_as_lost_capacity_without_terminating_it_or_putting_it_back_in_service() {
        worker("w1", WorkerState.WORKING, 10);
        worker("w2", WorkerState.WORKING, 10);
        worker("w3", WorkerState.INTERRUPTED, 10);
        Controller.Tick tick = controller(100).tick();
        assertEquals(List.of(WorkerState.WORKING, WorkerState.WORKING, WorkerState.INTERRUPTED),
                tick.snapshot().workers().stream().map(WorkerView::phase).toList());
        assertFalse(tick.decision().cancelDrain().contains("w3"), "an interrupted worker is not brought back like a drain");
        assertFalse(tick.terminated().contains("w3"), "EC2 takes it; the controller does not terminate a worker that holds requests");

        // the same backlog with w3 gone altogether: the controller launches as many, so w3 was counted as capacity lost
        fleet.instances.removeIf(i -> i.id().equals("w3"));
        board.forget("w3");
        int withoutIt = controller(100).tick().launched();
        assertTrue(withoutIt > 0, "the backlog needs more than two workers");
        assertEquals(withoutIt, tick.launched(), "launched with w3 interrupted as without it");

        // and not as a failure either: no worker of the three is LOST
        assertTrue(events.stream().noneMatch(e -> e.phase() == WorkerState.LOST), "events " + events);
    }

    @Test
    void should_publish_the_fleet_s_recent_launches_in_its_state() throws Exception {
        fleet.outcomes.add(new LaunchOutcome(time.instant(), "tok-1", 3, 1, 2, true, "no Spot capacity in 2 of 3 pools; 2 On-Demand"));
        controller(0).tick();
        JsonNode state = new ObjectMapper().readTree(output.get(ObjectStoreWorkerBoard.STATE).orElseThrow());
        JsonNode launch = state.path("launches").get(0);
        assertEquals("tok-1", launch.path("clientToken").asText());
        assertEquals(3, launch.path("requested").asInt());
        assertEquals(1, launch.path("spot").asInt());
        assertEquals(2, launch.path("onDemand").asInt());
        assertTrue(launch.path("fellBack").asBoolean());
        assertEquals("no Spot capacity in 2 of 3 pools; 2 On-Demand", launch.path("note").asText());
        assertEquals("virtual", state.path("fleet").asText(), "the rest of the state as before");
    }

    final class ListedFleet implements Fleet {
        final List<FleetInstance> instances = new CopyOnWriteArrayList<>();
        final List<LaunchOutcome> outcomes = new ArrayList<>();
        int launchedTotal;

        @Override
        public String kind() {
            return "virtual";
        }

        @Override
        public List<FleetInstance> list() {
            return new ArrayList<>(instances);
        }

        @Override
        public List<FleetInstance> launch(int count, String clientToken) {
            List<FleetInstance> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                out.add(new FleetInstance("n" + (++launchedTotal), FleetInstance.State.PENDING, time.instant(), Map.of()));
            }
            return out; // not listed: each test's tick starts from the same fleet
        }

        @Override
        public List<LaunchOutcome> recentLaunches() {
            return List.copyOf(outcomes);
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
