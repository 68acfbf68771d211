package dev.imgscale.classifier.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.ImgscaleException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The models, presets, label lists and sample data sets imgscale knows, read from the
 * {@code catalog.json} resource: the catalog is data, so adding a model is an edit to that file.
 */
public final class ModelCatalog {
    private static final String RESOURCE = "/dev/imgscale/classifier/catalog.json";

    private final Map<String, LabelSet> labelSets;
    private final Map<String, Preset> presets;
    private final Map<String, ModelSpec> models;
    private final Map<String, List<AssetSpec>> datasets;

    private ModelCatalog(Map<String, LabelSet> labelSets, Map<String, Preset> presets,
                         Map<String, ModelSpec> models, Map<String, List<AssetSpec>> datasets) {
        this.labelSets = Collections.unmodifiableMap(labelSets);
        this.presets = Collections.unmodifiableMap(presets);
        this.models = Collections.unmodifiableMap(models);
        this.datasets = Collections.unmodifiableMap(datasets);
    }

    /** The catalog shipped in the jar. */
    public static ModelCatalog builtIn() {
        try (InputStream in = ModelCatalog.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("catalog resource missing from the jar: " + RESOURCE);
            }
            return parse(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the built-in model catalog", e);
        }
    }

    static ModelCatalog parse(JsonNode root) {
        ObjectMapper mapper = new ObjectMapper();
        Map<String, LabelSet> labelSets = new LinkedHashMap<>();
        root.path("labelSets").fields().forEachRemaining(e -> {
            JsonNode n = e.getValue();
            labelSets.put(e.getKey(), new LabelSet(e.getKey(), asset(n), n.path("format").asText("json-array"),
                    n.path("count").asInt(1000)));
        });
        Map<String, Preset> presets = new LinkedHashMap<>();
        root.path("presets").fields().forEachRemaining(e -> {
            JsonNode n = e.getValue();
            try {
                presets.put(e.getKey(), new Preset(e.getKey(), n.path("description").asText(""),
                        mapper.treeToValue(n.get("input"), InputSpec.class),
                        mapper.treeToValue(n.get("output"), OutputSpec.class),
                        n.path("labels").asText(), n.path("maxBatch").asInt(0)));
            } catch (IOException ex) {
                throw new IllegalStateException("bad preset " + e.getKey() + " in the catalog: " + ex.getMessage(), ex);
            }
        });
        Map<String, ModelSpec> models = new LinkedHashMap<>();
        for (JsonNode n : root.path("models")) {
            String name = n.path("name").asText();
            Preset preset = presets.get(n.path("preset").asText());
            if (preset == null) {
                throw new IllegalStateException("model " + name + " names an unknown preset " + n.path("preset"));
            }
            LabelSet labels = labelSets.get(preset.labels());
            if (labels == null) {
                throw new IllegalStateException("preset " + preset.name() + " names an unknown label set " + preset.labels());
            }
            models.put(name, new ModelSpec(name, n.path("description").asText(""), asset(n), n.path("format").asText(),
                    preset.name(), preset.input(), preset.output(), labels, n.path("maxBatch").asInt(preset.maxBatch())));
        }
        Map<String, List<AssetSpec>> datasets = new LinkedHashMap<>();
        root.path("datasets").fields().forEachRemaining(e -> {
            List<AssetSpec> files = new ArrayList<>();
            e.getValue().path("files").forEach(f -> files.add(asset(f)));
            datasets.put(e.getKey(), List.copyOf(files));
        });
        return new ModelCatalog(labelSets, presets, models, datasets);
    }

    private static AssetSpec asset(JsonNode n) {
        return new AssetSpec(n.path("file").asText(), n.hasNonNull("url") ? n.get("url").asText() : null,
                n.path("size").asLong(-1), n.hasNonNull("sha256") ? n.get("sha256").asText() : null);
    }

    public List<ModelSpec> models() {
        return List.copyOf(models.values());
    }

    public Optional<ModelSpec> find(String name) {
        return Optional.ofNullable(models.get(name));
    }

    /** The model of that name, or a user error listing the names there are. */
    public ModelSpec model(String name) {
        ModelSpec spec = models.get(name);
        if (spec == null) {
            throw new ImgscaleException("Unknown model '" + name + "'; known models: " + String.join(", ", models.keySet())
                    + " (or use --model-file PATH --preset " + String.join("|", presets.keySet()) + ").");
        }
        return spec;
    }

    public List<Preset> presets() {
        return List.copyOf(presets.values());
    }

    public Preset preset(String name) {
        Preset preset = presets.get(name);
        if (preset == null) {
            throw new ImgscaleException("Unknown preset '" + name + "'; known presets: " + String.join(", ", presets.keySet()) + ".");
        }
        return preset;
    }

    /**
     * A spec for a user's own model file, fed and read as the preset says. The file is used as it
     * is (no pinned digest).
     */
    public ModelSpec custom(Path modelFile, String presetName) {
        Preset preset = preset(presetName);
        if (!Files.isRegularFile(modelFile)) {
            throw new ImgscaleException("Model file " + modelFile + " does not exist or is not a file.");
        }
        String format = ModelSpec.formatOf(modelFile.getFileName().toString());
        if (format == null) {
            throw new ImgscaleException("Model file " + modelFile + " must end in .onnx or .tflite.");
        }
        AssetSpec asset = new AssetSpec(modelFile.getFileName().toString(), null, -1, null);
        return new ModelSpec(modelFile.getFileName().toString(), "user model " + modelFile, asset, format,
                preset.name(), preset.input(), preset.output(), labelSets.get(preset.labels()), preset.maxBatch());
    }

    /** A named list of sample files (for example {@code dev-images}). */
    public List<AssetSpec> dataset(String name) {
        List<AssetSpec> files = datasets.get(name);
        if (files == null) {
            throw new ImgscaleException("Unknown data set '" + name + "'; known: " + String.join(", ", datasets.keySet()) + ".");
        }
        return files;
    }
}
