package dev.imgscale.classifier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.catalog.LabelSet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A label list: label i names ImageNet class i. Immutable. */
@ThreadSafe
public final class Labels {
    private final List<String> names;

    private Labels(List<String> names) {
        this.names = List.copyOf(names);
    }

    public static Labels of(List<String> names) {
        return new Labels(names);
    }

    public static Labels load(LabelSet set, Path file) {
        try {
            List<String> names = new ArrayList<>();
            if ("json-array".equals(set.format())) {
                JsonNode root = new ObjectMapper().readTree(file.toFile());
                root.forEach(n -> names.add(n.asText()));
            } else {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    names.add(line.strip());
                }
            }
            if (names.size() != set.count()) {
                throw new ImgscaleException("Label file " + file + " holds " + names.size() + " labels, not " + set.count() + ".");
            }
            return new Labels(names);
        } catch (IOException e) {
            throw new ImgscaleException("Cannot read the label file " + file + ": " + e.getMessage(), e);
        }
    }

    public int size() {
        return names.size();
    }

    public String name(int index) {
        return names.get(index);
    }
}
