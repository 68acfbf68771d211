package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** How {@code status} prints the launches a controller published in the fleet state. */
class StatusLaunchesTest {
    static String print(String fleetState) {
        StringWriter s = new StringWriter();
        try (PrintWriter out = new PrintWriter(s)) {
            StatusCommand.printLaunches(out, fleetState.getBytes(StandardCharsets.UTF_8));
        }
        return s.toString().replace(System.lineSeparator(), "\n");
    }

    @Test
    void should_print_one_line_per_launch_with_the_markets_and_the_fallback() {
        String state = "{\"fleet\":\"ec2\",\"launches\":["
                + "{\"at\":\"2026-12-05T10:00:00Z\",\"clientToken\":\"a\",\"requested\":3,\"spot\":3,\"onDemand\":0,\"fellBack\":false,\"note\":\"\"},"
                + "{\"at\":\"2026-12-05T10:05:00Z\",\"clientToken\":\"b\",\"requested\":4,\"spot\":1,\"onDemand\":3,\"fellBack\":true,"
                + "\"note\":\"no Spot capacity in c7i.large/subnet-a\"},"
                + "{\"at\":\"2026-12-05T10:06:00Z\",\"clientToken\":\"c\",\"requested\":2,\"spot\":0,\"onDemand\":0,\"fellBack\":false,"
                + "\"note\":\"failed: no Spot capacity\"}]}";
        assertEquals("""
                launches (newest last):
                  2026-12-05T10:00:00Z     asked   3: 3 Spot, 0 On-Demand
                  2026-12-05T10:05:00Z     asked   4: 1 Spot, 3 On-Demand (fell back to On-Demand); no Spot capacity in c7i.large/subnet-a
                  2026-12-05T10:06:00Z     asked   2: none launched; failed: no Spot capacity
                """, print(state));
    }

    @Test
    void should_print_nothing_without_launches_or_for_a_state_from_before_them() {
        assertEquals("", print("{\"fleet\":\"local\",\"launches\":[]}"));
        assertEquals("", print("{\"fleet\":\"local\"}"));
        assertEquals("", print("not json"));
    }
}
