package dev.imgscale.daemon.sim;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.controller.BacklogPolicy;
import dev.imgscale.daemon.controller.IdleTimeoutPolicy;
import dev.imgscale.daemon.controller.QueueLengthPolicy;
import dev.imgscale.daemon.controller.ScalingPolicy;
import dev.imgscale.daemon.controller.TargetTrackingPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The policies by name: ours ({@code backlog}) and the published baselines. */
public final class Policies {
    public static final List<String> NAMES = List.of("backlog", "queue-length", "idle-timeout", "target-tracking");

    private Policies() {
    }

    /** A fresh instance (baselines may keep state between ticks). */
    public static ScalingPolicy create(String name) {
        return switch (name) {
            case "backlog" -> BacklogPolicy.defaults();
            case "queue-length" -> new QueueLengthPolicy();
            case "idle-timeout" -> new IdleTimeoutPolicy();
            case "target-tracking" -> new TargetTrackingPolicy(Duration.ofSeconds(60));
            default -> throw new ImgscaleException("Unknown policy '" + name + "'; known: " + String.join(", ", NAMES) + ", all.");
        };
    }

    public static List<String> names(String spec) {
        if ("all".equals(spec)) {
            return NAMES;
        }
        List<String> out = new ArrayList<>();
        for (String n : spec.split(",")) {
            create(n.strip());
            out.add(n.strip());
        }
        return out;
    }
}
