package dev.imgscale.daemon.port;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What one {@link Fleet#launch} did, kept by the fleet for the controller to publish (and
 * {@code status} to show): how many of each market it got and whether it fell back from Spot to
 * On-Demand, and why.
 *
 * @param at          when the launch finished
 * @param clientToken the launch's token
 * @param requested   workers asked for
 * @param spot        Spot instances launched
 * @param onDemand    On-Demand instances launched
 * @param fellBack    whether Spot found too little capacity and the rest was launched On-Demand
 * @param note        one line on what EC2 answered (the pools without capacity, the fallback), {@code failed: <why>}
 *                    for a launch that got nothing, empty if nothing to say
 */
public record LaunchOutcome(Instant at, String clientToken, int requested, int spot, int onDemand, boolean fellBack,
                            String note) {
    public LaunchOutcome {
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(clientToken, "clientToken");
        note = note == null ? "" : note;
    }

    /** Field name to value, in a fixed order, for a JSON document such as the published fleet state. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("at", at.toString());
        m.put("clientToken", clientToken);
        m.put("requested", requested);
        m.put("spot", spot);
        m.put("onDemand", onDemand);
        m.put("fellBack", fellBack);
        m.put("note", note);
        return m;
    }
}
