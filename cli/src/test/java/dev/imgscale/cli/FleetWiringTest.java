package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class FleetWiringTest {
    @Test
    void should_pass_the_launchers_jit_choice_on_to_local_workers_and_nothing_else() {
        assertEquals(List.of("-XX:TieredStopAtLevel=1"),
                FleetWiring.jitOptions(List.of("-Xmx1g", "-XX:TieredStopAtLevel=1", "-Dimgscale.cds=/x.jsa")));
        assertEquals(List.of("-XX:-TieredCompilation"), FleetWiring.jitOptions(List.of("-XX:-TieredCompilation", "-XX:+UseSerialGC")));
        assertEquals(List.of(), FleetWiring.jitOptions(List.of("-XX:+UseSerialGC")), "IMGSCALE_JIT=full: the JVM's default");
    }
}
