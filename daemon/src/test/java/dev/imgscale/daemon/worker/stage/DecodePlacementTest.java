package dev.imgscale.daemon.worker.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imgscale.daemon.testing.FakeClassifier;
import dev.imgscale.daemon.testing.FakeTime;
import org.junit.jupiter.api.Test;

class DecodePlacementTest {
    @Test
    void should_decode_beside_the_engine_only_when_the_engine_leaves_cores_free() {
        assertEquals(false, DecodePlacement.decodeAhead(2, 2), "2 engine threads on 2 cores: decode before each inference");
        assertEquals(true, DecodePlacement.decodeAhead(1, 2), "--threads 1 on 2 cores: decode on the free core");
        assertEquals(true, DecodePlacement.decodeAhead(4, 8));
        assertEquals(false, DecodePlacement.decodeAhead(8, 8));
    }

    @Test
    void should_decode_on_the_free_cores_only_when_ahead() {
        FakeTime time = new FakeTime();
        // the fake decodes 2 at once; 1 stream of 1 thread on 8 cores leaves 7 free
        assertEquals(new DecodePlacement(true, 2), DecodePlacement.choose(new FakeClassifier(time, 1, 1, 10), 8));
        assertEquals(new DecodePlacement(true, 1), DecodePlacement.choose(new FakeClassifier(time, 1, 1, 10), 2));
        // 2 streams of 2 threads take all 4 cores
        assertEquals(new DecodePlacement(false, 2), DecodePlacement.choose(new FakeClassifier(time, 2, 2, 10), 4));
        assertEquals("overlapped with inference, 1 to 2 at once as measured decode and inference times choose",
                new DecodePlacement(false, 2).describe());
    }

    @Test
    void should_decode_as_many_at_once_as_given_in_either_place() {
        FakeTime time = new FakeTime();
        assertEquals(new DecodePlacement(false, 3, 3), DecodePlacement.choose(new FakeClassifier(time, 2, 2, 10), 4, 3));
        assertEquals(new DecodePlacement(true, 5, 5), DecodePlacement.choose(new FakeClassifier(time, 1, 1, 10), 8, 5));
        assertEquals("overlapped with inference, 3 at once (given)", new DecodePlacement(false, 3, 3).describe());
        assertEquals("5 at once in the receive stage, beside the engine (given)", new DecodePlacement(true, 5, 5).describe());
        // the flag wins over the older system property
        System.setProperty(DecodeTuner.OVERRIDE, "4");
        try {
            assertEquals(new DecodePlacement(false, 4, 4), DecodePlacement.choose(new FakeClassifier(time, 2, 2, 10), 4));
            assertEquals(new DecodePlacement(false, 3, 3), DecodePlacement.choose(new FakeClassifier(time, 2, 2, 10), 4, 3));
        } finally {
            System.clearProperty(DecodeTuner.OVERRIDE);
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> DecodePlacement.choose(new FakeClassifier(time, 2, 2, 10), 4, -1));
    }
}
