package dev.imgscale.daemon.worker.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class DecodeTunerTest {
    private static final long MS = 1_000_000;
    private final List<Integer> applied = new CopyOnWriteArrayList<>();

    /** The 2-core EC2 shape of docs/benchmarks-int8.md: one stream of two threads. */
    private DecodeTuner tuner(int override) {
        return new DecodeTuner(2, 1, 2, override, applied::add);
    }

    private static void measure(DecodeTuner tuner, double decodeMs, double streamMsPerImage, int passes) {
        for (int p = 0; p < passes; p++) {
            for (int i = 0; i < 4; i++) {
                tuner.decoded((long) (decodeMs * MS));
            }
            tuner.inferred((long) (streamMsPerImage * 4 * MS), 4);
        }
    }

    @Test
    void should_start_on_one_decode_thread_until_measured() {
        DecodeTuner tuner = tuner(0);
        assertEquals(1, tuner.threads());
        assertEquals(List.of(1), applied);
        assertNull(tuner.split());
        measure(tuner, 6, 17, DecodeTuner.EVERY_PASSES - 1);
        assertNull(tuner.split(), "not re-chosen before " + DecodeTuner.EVERY_PASSES + " passes");
    }

    @Test
    void should_follow_the_measured_times_and_apply_each_change_once() {
        DecodeTuner tuner = tuner(0);
        // development images (6 ms) and int8 ResNet-50 (17 ms an image): one thread keeps up
        measure(tuner, 6, 17, DecodeTuner.EVERY_PASSES);
        assertEquals(1, tuner.threads());
        assertEquals(1, tuner.split().decodeThreads());
        assertEquals(List.of(1), applied, "no change, nothing applied");
        // 12 MP photos at full size (126 ms): the cores are the limit and two threads are needed
        measure(tuner, 126, 17, 3 * DecodeTuner.EVERY_PASSES);
        assertEquals(2, tuner.threads());
        assertEquals("cores", tuner.split().bottleneck());
        assertEquals(List.of(1, 2), applied, "applied once, though re-chosen three times");
        // the small photos again: back to one
        measure(tuner, 6, 17, 4 * DecodeTuner.EVERY_PASSES);
        assertEquals(1, tuner.threads());
        assertEquals(List.of(1, 2, 1), applied);
    }

    @Test
    void should_average_rather_than_follow_one_slow_batch() {
        DecodeTuner tuner = tuner(0);
        measure(tuner, 6, 17, DecodeTuner.EVERY_PASSES * 2 - 1);
        // the pass before the choice has one 12 MP photo (126 ms): the last decode alone would ask
        // for two threads, the average (18 ms) does not
        tuner.decoded(126 * MS);
        tuner.inferred(4 * 17 * MS, 4);
        assertEquals(1, tuner.threads());
        assertEquals(List.of(1), applied);
    }

    @Test
    void should_keep_the_operators_count_whatever_is_measured() {
        DecodeTuner tuner = tuner(1);
        measure(tuner, 126, 17, 4 * DecodeTuner.EVERY_PASSES);
        assertEquals(1, tuner.threads());
        assertTrue(tuner.split().overridden());
        assertEquals("decode", tuner.split().bottleneck(), "one thread at 126 ms cannot feed the engine, and says so");
        DecodeTuner three = new DecodeTuner(2, 1, 2, 3, applied::add);
        measure(three, 6, 17, 4 * DecodeTuner.EVERY_PASSES);
        assertEquals(3, three.threads());
        assertEquals(List.of(1, 3), applied);
    }

    @Test
    void should_refuse_a_bad_override_naming_it() {
        assertThrows(IllegalArgumentException.class, () -> tuner(-1));
        String before = System.getProperty(DecodeTuner.OVERRIDE);
        try {
            System.setProperty(DecodeTuner.OVERRIDE, "two");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, DecodeTuner::overrideProperty);
            assertTrue(e.getMessage().contains(DecodeTuner.OVERRIDE) && e.getMessage().contains("'two'"), e.getMessage());
            System.setProperty(DecodeTuner.OVERRIDE, "0");
            assertThrows(IllegalArgumentException.class, DecodeTuner::overrideProperty);
            System.setProperty(DecodeTuner.OVERRIDE, "3");
            assertEquals(3, DecodeTuner.overrideProperty());
            System.clearProperty(DecodeTuner.OVERRIDE);
            assertEquals(0, DecodeTuner.overrideProperty());
        } finally {
            if (before == null) {
                System.clearProperty(DecodeTuner.OVERRIDE);
            } else {
                System.setProperty(DecodeTuner.OVERRIDE, before);
            }
        }
    }
}
