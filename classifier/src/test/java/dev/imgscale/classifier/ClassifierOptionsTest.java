package dev.imgscale.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imgscale.classifier.decode.DecodeLimits;
import org.junit.jupiter.api.Test;

/** Options are built from the defaults, each wither changing its own field and nothing else. */
class ClassifierOptionsTest {
    @Test
    void should_default_to_the_automatic_engine_streams_per_core_and_five_labels() {
        ClassifierOptions d = ClassifierOptions.defaults();
        assertEquals(new ClassifierOptions("auto", 0, 0, 8, 0, 5, DecodeLimits.DEFAULT), d);
        assertEquals(Runtime.getRuntime().availableProcessors(), d.decodeThreads());
    }

    @Test
    void should_change_only_what_each_wither_names() {
        ClassifierOptions d = ClassifierOptions.defaults();
        DecodeLimits limits = new DecodeLimits(1024, 1000);
        assertEquals(new ClassifierOptions("onnxruntime", 0, 0, 8, 0, 5, null), d.withEngine("onnxruntime"));
        assertEquals(new ClassifierOptions("auto", 2, 3, 8, 0, 5, null), d.withStreams(3, 2));
        assertEquals(new ClassifierOptions("auto", 0, 0, 10, 0, 5, null), d.withBatchSize(10));
        assertEquals(new ClassifierOptions("auto", 0, 0, 8, 0, 1, null), d.withTopK(1));
        assertEquals(new ClassifierOptions("auto", 0, 0, 8, 3, 5, null), d.withDecodeThreads(3));
        assertEquals(new ClassifierOptions("auto", 0, 0, 8, 0, 5, limits), d.withLimits(limits));
        // null means the default, as in the constructor
        assertEquals(d, d.withEngine(null).withLimits(null));
    }

    @Test
    void should_check_what_a_wither_sets() {
        ClassifierOptions d = ClassifierOptions.defaults();
        assertEquals("The batch size must be between 1 and 256, not 0.", assertThrows(ImgscaleException.class, () -> d.withBatchSize(0)).getMessage());
        assertThrows(ImgscaleException.class, () -> d.withTopK(0));
        assertThrows(ImgscaleException.class, () -> d.withStreams(65, 1));
        assertThrows(ImgscaleException.class, () -> d.withDecodeThreads(-1));
    }
}
