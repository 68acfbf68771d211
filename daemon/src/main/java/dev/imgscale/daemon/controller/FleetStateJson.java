package dev.imgscale.daemon.controller;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/** The fleet's state as the controller publishes it each tick, where {@code imgscale status} shows it. */
final class FleetStateJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private FleetStateJson() {
    }

    static String of(FleetSnapshot s, Decision d, Instant now, String fleetKind, String policyName) {
        ObjectNode root = JSON.createObjectNode();
        root.put("updatedAt", now.toString());
        root.put("fleet", fleetKind);
        root.put("policy", policyName);
        root.put("cap", s.cap());
        root.put("visible", s.visible());
        root.put("inFlight", s.inFlight());
        root.put("msPerImage", s.serviceTime().toMillis());
        root.put("bootSeconds", s.bootTime().toMillis() / 1000.0);
        root.put("imagesPerSecond", Math.round(s.arrivalRate() * 100) / 100.0);
        ArrayNode workers = root.putArray("workers");
        Set<String> seen = new HashSet<>();
        for (WorkerView w : s.workers()) {
            if (seen.add(w.id())) {
                workers.addObject().put("id", w.id()).put("phase", w.phase().fleetName()).put("inHand", w.inHand());
            }
        }
        root.put("decision", d.reason());
        return root.toString();
    }
}
