package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.local.FileParameterStore;
import dev.imgscale.daemon.port.ParameterStore;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.ImgscaleException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileParameterStore}, the local stack's parameter store, and the {@code --config} parser {@link ConfigLocation}. */
class ParameterStoreTest {

    @TempDir
    Path dir;

    @Test
    void should_read_back_what_it_wrote() {
        ParameterStore store = new FileParameterStore(dir.resolve("params"));
        Map<String, String> values = Map.of("model", "mobilenet-v2-int8", "input-bucket", "imgscale-input",
                "visibility-timeout", "60", "note", "ünïcode and spaces");

        store.write("imgscale", values);

        assertEquals(values, store.read("imgscale"));
        assertEquals(Map.of(), store.read("other"), "another stack has its own file");
    }

    @Test
    void should_replace_only_the_keys_written() {
        ParameterStore store = new FileParameterStore(dir);
        store.write("imgscale", Map.of("model", "resnet50", "max-receives", "5"));

        store.write("imgscale", Map.of("max-receives", "7"));

        assertEquals(Map.of("model", "resnet50", "max-receives", "7"), store.read("imgscale"));
    }

    @Test
    void should_keep_a_versioned_json_file_per_stack_and_no_temporary_files() throws IOException {
        FileParameterStore store = new FileParameterStore(dir);
        store.write("imgscale", Map.of("model", "resnet50"));
        store.write("imgscale", Map.of("model", "mobilenet-v2-int8"));

        JsonNode json = new ObjectMapper().readTree(dir.resolve("imgscale.json").toFile());
        assertEquals(1, json.path("version").asInt());
        assertEquals("imgscale", json.path("stack").asText());
        assertEquals("mobilenet-v2-int8", json.path("parameters").path("model").asText());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("imgscale.json"), files.map(p -> p.getFileName().toString()).toList());
        }
        assertEquals(dir.resolve("imgscale.json").toString(), store.location("imgscale"));
    }

    @Test
    void should_delete_and_be_harmless_when_there_is_nothing() {
        ParameterStore store = new FileParameterStore(dir);
        store.write("imgscale", Map.of("model", "resnet50"));

        store.delete("imgscale");
        store.delete("imgscale");

        assertEquals(Map.of(), store.read("imgscale"));
        assertFalse(Files.exists(dir.resolve("imgscale.json")));
    }

    @Test
    void should_say_how_to_recover_from_a_damaged_file() throws IOException {
        Files.writeString(dir.resolve("imgscale.json"), "{\"version\": 1, \"parameters\": {\"model\": ", StandardCharsets.UTF_8);

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> new FileParameterStore(dir).read("imgscale"));

        assertTrue(e.getMessage().contains("is damaged") && e.getMessage().contains("imgscale init"), e.getMessage());
    }

    @Test
    void should_refuse_stack_names_that_would_escape_the_folder() {
        FileParameterStore store = new FileParameterStore(dir);
        assertThrows(ImgscaleException.class, () -> store.write("../evil", Map.of("model", "x")));
        assertThrows(IllegalArgumentException.class, () -> store.write("imgscale", Map.of("model", "")));
    }

    // ---- --config ------------------------------------------------------------------------------

    @Test
    void should_parse_ssm_as_a_stack_with_the_default_file_still_read() {
        Map<String, String> env = Map.of("XDG_CONFIG_HOME", dir.toString());

        ConfigLocation location = ConfigLocation.parse("ssm:/imgscale/prod-1", env);

        assertTrue(location.isSsm());
        assertEquals("prod-1", location.ssmStack());
        assertEquals(dir.resolve("imgscale/config"), location.file());
        assertEquals("prod-1", ConfigLocation.parse("ssm:/imgscale/prod-1/", env).ssmStack(), "a trailing slash is fine");
    }

    @Test
    void should_refuse_ssm_paths_that_are_not_one_imgscale_stack() {
        for (String bad : List.of("ssm:", "ssm:/imgscale", "ssm:/imgscale/", "ssm:/other/prod", "ssm:imgscale/prod",
                "ssm:/imgscale/prod/model", "ssm:/imgscale/Prod")) {
            ImgscaleException e = assertThrows(ImgscaleException.class, () -> ConfigLocation.parse(bad, Map.of()), bad);
            assertTrue(e.getMessage().contains("ssm:/imgscale/") || e.getMessage().contains("stack name"), e.getMessage());
        }
    }

    @Test
    void should_parse_file_forms_and_require_the_file_to_exist() throws IOException {
        Path config = Files.writeString(dir.resolve("config"), "model = resnet50\n");

        for (String value : List.of("file:" + config, config.toUri().toString(), config.toString())) {
            ConfigLocation location = ConfigLocation.parse(value, Map.of());
            assertEquals(config, location.file(), value);
            assertNull(location.ssmStack(), value);
            assertEquals(Map.of("model", "resnet50"), ConfigLoader.readFile(location.file()), value);
        }
        ImgscaleException missing = assertThrows(ImgscaleException.class,
                () -> ConfigLocation.parse("file:" + dir.resolve("nope"), Map.of()));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        ImgscaleException scheme = assertThrows(ImgscaleException.class, () -> ConfigLocation.parse("s3://b/config", Map.of()));
        assertTrue(scheme.getMessage().contains("neither ssm:/imgscale/<stack> nor a file"), scheme.getMessage());
    }

    @Test
    void should_default_to_the_config_file_in_xdg_config_home() {
        ConfigLocation location = ConfigLocation.parse(null, Map.of("XDG_CONFIG_HOME", dir.toString()));

        assertEquals(dir.resolve("imgscale/config"), location.file());
        assertFalse(location.isSsm());
        assertEquals(location, ConfigLocation.parse("  ", Map.of("XDG_CONFIG_HOME", dir.toString())));
    }
}
