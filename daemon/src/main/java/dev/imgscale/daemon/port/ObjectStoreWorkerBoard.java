package dev.imgscale.daemon.port;

import dev.imgscale.daemon.wire.WorkerStatus;
import dev.imgscale.daemon.wire.Json;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The {@link WorkerBoard} as objects under {@code fleet/} in the stack's output bucket. */
public final class ObjectStoreWorkerBoard implements WorkerBoard {
    public static final String WORKERS = "fleet/workers/";
    public static final String DRAIN = "fleet/drain/";
    public static final String STATE = "fleet/state.json";

    private final ObjectStore store;

    public ObjectStoreWorkerBoard(ObjectStore store) {
        this.store = store;
    }

    @Override
    public Map<String, WorkerStatus> statuses() {
        Map<String, WorkerStatus> out = new HashMap<>();
        for (String key : store.list(WORKERS)) {
            if (!key.endsWith(".json")) {
                continue;
            }
            try {
                store.get(key).map(b -> Json.read(b, WorkerStatus.class)).ifPresent(s -> out.put(s.id(), s));
            } catch (Json.MalformedRecordException e) {
                // a half-written or foreign object: the worker's next report replaces it
            }
        }
        return out;
    }

    @Override
    public Set<String> drainRequests() {
        Set<String> out = new HashSet<>();
        for (String key : store.list(DRAIN)) {
            out.add(key.substring(DRAIN.length()));
        }
        return out;
    }

    @Override
    public boolean drainRequested(String id) {
        return store.exists(DRAIN + id);
    }

    @Override
    public void requestDrain(String id) {
        store.put(DRAIN + id, "drain".getBytes(StandardCharsets.UTF_8), "text/plain");
    }

    @Override
    public void cancelDrain(String id) {
        store.delete(List.of(DRAIN + id));
    }

    @Override
    public void report(WorkerStatus status) {
        store.put(WORKERS + status.id() + ".json", Json.bytes(status), "application/json");
    }

    @Override
    public void forget(String id) {
        store.delete(List.of(WORKERS + id + ".json", DRAIN + id));
    }

    @Override
    public void publish(String fleetStateJson) {
        store.put(STATE, fleetStateJson.getBytes(StandardCharsets.UTF_8), "application/json");
    }
}
