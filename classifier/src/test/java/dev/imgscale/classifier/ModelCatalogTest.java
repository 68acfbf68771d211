package dev.imgscale.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.catalog.AssetSpec;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCatalogTest {
    final ModelCatalog catalog = ModelCatalog.builtIn();

    @Test
    void should_hold_the_five_models_with_pinned_urls_sizes_and_digests() {
        List<String> names = catalog.models().stream().map(ModelSpec::name).toList();
        assertEquals(List.of("mobilenet-v2-int8", "resnet18", "resnet50", "resnet50-onnxzoo", "resnet50-int8"), names);
        for (ModelSpec m : catalog.models()) {
            assertTrue(m.asset().url().startsWith("https://"), m.name());
            assertTrue(m.asset().size() > 1_000_000, m.name());
            assertEquals(64, m.asset().sha256().length(), m.name());
            assertEquals("imagenet-simple", m.labels().name(), m.name() + " reports imagenet-simple-labels names");
            assertEquals(1000, m.output().classes() - m.output().labelOffset(), m.name());
        }
        assertEquals("int8-softmax", catalog.model("mobilenet-v2-int8").output().kind());
        assertEquals(1, catalog.model("mobilenet-v2-int8").output().labelOffset());
        assertEquals("logits", catalog.model("resnet50").output().kind());
    }

    @Test
    void should_pin_exactly_the_shared_assets(@TempDir Path cache) {
        // the catalog's digests match the files in ../shared: a resolver that only looks there finds them all
        var resolver = TestAssets.resolver(cache);
        AssetSpec labels = catalog.model("resnet50").labels().asset();
        assertTrue(resolver.locate(labels).isPresent(), "labels found by SHA-256");
        assertTrue(resolver.locate(catalog.model("mobilenet-v2-int8").asset()).isPresent(), "mobilenet found by SHA-256");
        for (AssetSpec image : catalog.dataset("dev-images")) {
            assertTrue(resolver.locate(image).isPresent(), image.file());
        }
        assertEquals(14, catalog.dataset("dev-images").size());
    }

    @Test
    void should_explain_an_unknown_model_name() {
        var e = assertThrows(ImgscaleException.class, () -> catalog.model("resnet51"));
        assertTrue(e.getMessage().contains("resnet50") && e.getMessage().contains("--model-file"), e.getMessage());
    }
}
