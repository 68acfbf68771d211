package dev.imgscale.classifier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Engine streams: how many, and that passes run side by side give each image its own result. */
class StreamsTest {
    @TempDir
    Path cache;

    @Test
    void should_run_a_stream_per_core_of_one_thread_by_default() {
        ClassifierOptions defaults = ClassifierOptions.defaults();
        assertEquals(2, defaults.streamCount(2));
        assertEquals(1, defaults.threadsPerStream(2));
        assertEquals(8, defaults.streamCount(32), "capped: more copies of the network cost memory for little gain");
        assertEquals(4, defaults.threadsPerStream(32));
        assertEquals(1, defaults.streamCount(1));
        assertEquals(1, defaults.threadsPerStream(1));
    }

    @Test
    void should_share_the_cores_among_the_streams_and_keep_threads_alone_to_one_stream() {
        // --threads alone: one stream of that many threads, what --threads meant before streams
        assertEquals(1, options(2, 0).streamCount(2));
        assertEquals(2, options(2, 0).threadsPerStream(2));
        assertEquals(1, options(1, 0).streamCount(8));
        assertEquals(1, options(1, 0).threadsPerStream(8));
        // --streams 1: one stream with every core
        assertEquals(1, options(0, 1).streamCount(8));
        assertEquals(8, options(0, 1).threadsPerStream(8));
        // --threads 4 on 2 cores: still one stream
        assertEquals(1, options(4, 0).streamCount(2));
        // both given: as given, even over the cores
        assertEquals(3, options(2, 3).streamCount(2));
        assertEquals(2, options(2, 3).threadsPerStream(2));
        assertThrows(ImgscaleException.class, () -> options(0, -1));
        assertThrows(ImgscaleException.class, () -> options(0, 65));
    }

    @Test
    void should_give_every_image_its_own_labels_when_passes_run_on_several_streams_at_once() throws Exception {
        ModelSpec model = ModelCatalog.builtIn().model("mobilenet-v2-int8");
        List<float[]> tensors = new ArrayList<>();
        List<String[]> expected = TestAssets.expected();
        try (Classifier one = Classifier.open(model, TestAssets.resolver(cache), options(1, 1).withBatchSize(4), null);
             Classifier three = Classifier.open(model, TestAssets.resolver(cache), options(1, 3).withBatchSize(4), null)) {
            assertEquals(1, one.streams());
            assertEquals(3, three.streams());
            for (String[] row : expected) {
                tensors.add(one.prepare(Files.readAllBytes(TestAssets.images().resolve(row[0]))));
            }
            List<float[]> reference = one.probabilities(tensors);
            // one call of several passes: spread over the streams, rows still in the callers' order
            List<float[]> spread = three.probabilities(tensors);
            assertEquals(reference.size(), spread.size());
            for (int i = 0; i < reference.size(); i++) {
                assertArrayEquals(reference.get(i), spread.get(i), 1e-6f, expected.get(i)[0]);
            }
            // many callers at once, each a different slice: more callers than streams, so some wait for an engine
            ExecutorService callers = Executors.newFixedThreadPool(6);
            try {
                List<Future<List<float[]>>> calls = new ArrayList<>();
                for (int c = 0; c < 12; c++) {
                    int from = c % tensors.size();
                    int to = Math.min(tensors.size(), from + 1 + c % 5);
                    List<float[]> slice = tensors.subList(from, to);
                    calls.add(callers.submit(() -> three.probabilities(slice)));
                }
                for (int c = 0; c < calls.size(); c++) {
                    int from = c % tensors.size();
                    List<float[]> got = calls.get(c).get(2, TimeUnit.MINUTES);
                    for (int j = 0; j < got.size(); j++) {
                        assertArrayEquals(reference.get(from + j), got.get(j), 1e-6f, "call " + c + " row " + j);
                    }
                }
            } finally {
                callers.shutdownNow();
            }
        }
        assertTrue(tensors.size() >= 12);
    }

    @Test
    void should_load_a_tflite_model_on_several_streams_at_once() {
        // OpenCV's TFLite importer is not thread-safe: the first loads of a process side by side
        // failed once with "Unsupported operator type QUANTIZE" (WorkerTest) before the engine took
        // them in turn. This JVM has usually loaded the model already, so this checks that many
        // streams load and close cleanly rather than reproducing that first-load race.
        ModelSpec model = ModelCatalog.builtIn().model("mobilenet-v2-int8");
        for (int i = 0; i < 3; i++) {
            try (Classifier c = Classifier.open(model, TestAssets.resolver(cache), options(1, 6), null)) {
                assertEquals(6, c.streams());
            }
        }
    }

    @Test
    void should_refuse_inference_once_closed() {
        ModelSpec model = ModelCatalog.builtIn().model("mobilenet-v2-int8");
        Classifier classifier = Classifier.open(model, TestAssets.resolver(cache), options(1, 2), null);
        float[] tensor = new float[model.input().tensorLength()];
        classifier.close();
        assertThrows(ImgscaleException.class, () -> classifier.probabilities(List.of(tensor)));
    }

    private static ClassifierOptions options(int threads, int streams) {
        return ClassifierOptions.defaults().withStreams(streams, threads).withBatchSize(8);
    }
}
