package dev.imgscale.daemon.worker;

import java.io.IOException;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;

/**
 * What a worker's instance costs by: its type and market, from the instance metadata service
 * ({@code instance-type}, {@code instance-life-cycle}: {@code spot} or {@code on-demand}) when it
 * answers; {@code local} for a worker process of the local stack, which costs no instance.
 */
public record InstanceFacts(String instanceType, String market) {
    public static final String LOCAL = "local";
    public static final InstanceFacts LOCAL_PROCESS = new InstanceFacts(LOCAL, LOCAL);

    /** Asks IMDS (the endpoint the environment names, as the SDKs do); off EC2, {@link #LOCAL_PROCESS}. */
    public static InstanceFacts detect(Map<String, String> env) {
        ImdsSession imds = new ImdsSession(ImdsSession.endpoint(env), Clock.systemUTC());
        try {
            String type = imds.get("instance-type").map(String::strip).orElse(null);
            if (type == null || type.isEmpty()) {
                return LOCAL_PROCESS;
            }
            String lifeCycle = imds.get("instance-life-cycle").map(s -> s.strip().toLowerCase(Locale.ROOT)).orElse("on-demand");
            return new InstanceFacts(type, lifeCycle.equals("spot") ? "spot" : "on-demand");
        } catch (IOException e) {
            return LOCAL_PROCESS;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return LOCAL_PROCESS;
        }
    }
}
