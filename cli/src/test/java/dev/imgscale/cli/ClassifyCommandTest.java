package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.TestAssets;
import dev.imgscale.classifier.decode.BadImageCorpus;
import dev.imgscale.classifier.decode.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassifyCommandTest {
    @Test
    void should_label_the_development_images_as_expected_csv_says() throws Exception {
        CliRun run = CliRun.run(CliRun.env(), "classify", "--model", "mobilenet-v2-int8", "--output", "csv",
                TestAssets.images().toString());
        assertEquals(0, run.exitCode(), run.evidence());
        List<String> lines = run.out().lines().toList();
        assertEquals("name,label,score,error", lines.get(0), run.evidence());
        Map<String, String> labels = new HashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            assertEquals(4, f.length, line);
            assertEquals("", f[3], line);
            labels.put(f[0], f[1]);
        }
        for (String[] row : TestAssets.expected()) {
            assertTrue(labels.containsKey(row[0]), "a row for " + row[0] + "\n" + run.evidence());
            if (Double.parseDouble(row[2]) >= 0.5) {
                assertEquals(row[1], labels.get(row[0]), row[0]);
            }
        }
        assertEquals(TestAssets.expected().size(), lines.size() - 1, "one row per image, README.md etc. skipped");
        assertTrue(run.err().contains("skipped"), run.evidence());
    }

    @Test
    void should_report_broken_files_one_by_one_and_label_the_good_ones_with_exit_code_3(@TempDir Path dir) throws Exception {
        Map<String, ErrorCode> bad = BadImageCorpus.writeTo(dir);
        Files.copy(TestAssets.images().resolve("parrot.jpg"), dir.resolve("parrot.jpg"));
        List<String> args = new ArrayList<>(List.of("classify", "--output", "json"));
        try (var files = Files.list(dir)) {
            files.sorted().forEach(f -> args.add(f.toString()));
        }
        CliRun run = CliRun.run(CliRun.env(), args.toArray(String[]::new));
        assertEquals(ExitCodes.PARTIAL, run.exitCode(), run.evidence());
        ObjectMapper json = new ObjectMapper();
        Map<String, JsonNode> byName = new HashMap<>();
        for (String line : run.out().lines().toList()) {
            JsonNode node = json.readTree(line);
            byName.put(node.get("name").asText(), node);
        }
        assertEquals(bad.size() + 1, byName.size(), run.evidence());
        bad.forEach((name, code) -> assertEquals(code.name(), byName.get(name).path("error").asText(), name + "\n" + run.evidence()));
        assertEquals("macaw", byName.get("parrot.jpg").path("label").asText(), run.evidence());
        assertFalse(run.err().contains("Exception"), "no stack trace for bad images\n" + run.evidence());
    }

    @Test
    void should_print_one_line_per_image_in_text_output() throws Exception {
        CliRun run = CliRun.run(CliRun.env(), "classify", TestAssets.images().resolve("parrot.jpg").toString(),
                TestAssets.images().resolve("dragonfly.bmp").toString());
        assertEquals(0, run.exitCode(), run.evidence());
        List<String> lines = run.out().lines().toList();
        assertEquals(2, lines.size(), run.evidence());
        assertTrue(lines.get(0).startsWith("parrot.jpg\tmacaw ("), run.evidence());
        assertTrue(lines.get(1).startsWith("dragonfly.bmp\tdragonfly ("), run.evidence());
    }
}
