package dev.imgscale.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ONNX ResNet path, on a ResNet-18 with the real topology and random weights. */
class ResNetPathTest {
    static Path model;
    static Labels labels;

    @BeforeAll
    static void writeModel(@TempDir Path dir) throws Exception {
        model = TestAssets.makeResNet(18, dir.resolve("resnet18-random.onnx"));
        ModelSpec spec = ModelCatalog.builtIn().model("resnet18");
        labels = Labels.load(spec.labels(), TestAssets.resolver(dir.resolve("cache")).resolve(spec.labels().asset(), null));
    }

    @Test
    void should_load_a_user_resnet_through_the_torchvision_preset_and_give_1000_probabilities_at_batch_1_and_4() throws Exception {
        ModelSpec spec = ModelCatalog.builtIn().custom(model, "torchvision");
        assertEquals("onnx", spec.format());
        List<float[]> tensors = new ArrayList<>();
        List<float[]> previous = null;
        for (int batch : new int[] {1, 4}) {
            try (Classifier c = Classifier.open(spec, model, labels, ClassifierOptions.defaults().withBatchSize(batch))) {
                if (tensors.isEmpty()) {
                    for (String name : List.of("parrot.jpg", "cat.bmp", "owl.jpg", "grace_hopper.bmp")) {
                        tensors.add(c.prepare(TestAssets.images().resolve(name)));
                    }
                }
                List<float[]> probs = c.probabilities(tensors);
                assertEquals(4, probs.size());
                for (float[] p : probs) {
                    assertEquals(1000, p.length);
                    double sum = 0;
                    for (float v : p) {
                        assertTrue(v >= 0 && v <= 1);
                        sum += v;
                    }
                    assertEquals(1.0, sum, 1e-3, "softmax of the logits sums to one at batch " + batch);
                }
                if (previous != null) {
                    for (int i = 0; i < probs.size(); i++) {
                        for (int k = 0; k < 1000; k++) {
                            assertEquals(previous.get(i)[k], probs.get(i)[k], 1e-3, "batch 1 and batch 4 agree, image " + i);
                        }
                    }
                }
                previous = probs;
                List<List<Prediction>> top = c.infer(tensors);
                assertEquals(5, top.get(0).size());
                assertTrue(top.get(0).get(0).probability() >= top.get(0).get(4).probability(), "top-k is sorted");
            }
        }
    }
}
