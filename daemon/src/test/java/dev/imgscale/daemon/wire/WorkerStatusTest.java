package dev.imgscale.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The board's worker reports keep their wire form: a board written before WorkerState still parses. */
class WorkerStatusTest {
    @Test
    void should_write_the_state_by_its_name_and_read_what_older_workers_wrote() {
        WorkerStatus s = new WorkerStatus(WorkerStatus.VERSION, "i-1", WorkerState.WORKING, 3, 10, 12.5, 1000, 0, 2000);
        String json = Json.write(s);
        assertTrue(json.contains("\"state\":\"WORKING\""), json);
        assertEquals(s, Json.read(json, WorkerStatus.class));
        for (String state : List.of("STARTING", "POLLING", "WORKING", "DRAINING", "INTERRUPTED", "STOPPED")) {
            String old = "{\"v\":1,\"id\":\"i-1\",\"state\":\"" + state + "\",\"inHand\":0,\"processed\":5,\"msPerImage\":0.0,"
                    + "\"startedAt\":1,\"idleSince\":1,\"updatedAt\":2}";
            assertEquals(WorkerState.valueOf(state), Json.read(old, WorkerStatus.class).state());
        }
        assertTrue(Json.read("{\"v\":1,\"id\":\"i-1\",\"state\":\"STOPPED\",\"inHand\":0,\"processed\":5,\"msPerImage\":0.0,"
                + "\"startedAt\":1,\"idleSince\":1,\"updatedAt\":2}", WorkerStatus.class).stopped());
    }

    @Test
    void should_say_which_requests_a_worker_reads_and_take_a_report_without_it_for_the_previous_release() {
        WorkerStatus now = new WorkerStatus(WorkerStatus.VERSION, "i-1", WorkerState.POLLING, 0, 0, 0, 1, 1, 2, WorkRequest.VERSION);
        String json = Json.write(now);
        assertTrue(json.contains("\"reads\":2"), json);
        assertEquals(2, Json.read(json, WorkerStatus.class).readsRequests());
        WorkerStatus old = Json.read("{\"v\":1,\"id\":\"i-1\",\"state\":\"POLLING\",\"inHand\":0,\"processed\":5,"
                + "\"msPerImage\":0.0,\"startedAt\":1,\"idleSince\":1,\"updatedAt\":2}", WorkerStatus.class);
        assertEquals(1, old.readsRequests());
    }

    @Test
    void should_keep_the_controller_words_for_its_event_log_and_fleet_state() {
        // the old words unchanged; INTERRUPTED (a Spot interruption) is new
        assertEquals(List.of("BOOTING", "IDLE", "BUSY", "DRAINING", "INTERRUPTED", "DRAINED", "LOST"),
                List.of(WorkerState.values()).stream().map(WorkerState::fleetName).toList());
    }
}
