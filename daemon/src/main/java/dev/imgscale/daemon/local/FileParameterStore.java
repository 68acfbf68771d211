package dev.imgscale.daemon.local;

import dev.imgscale.daemon.port.ParameterStore;
import dev.imgscale.daemon.wire.StackNames;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.ImgscaleException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A stack's parameters in a JSON file, {@code <folder>/<stack>.json}: the local stack's stand-in
 * for SSM Parameter Store, which the embedded servers do not emulate.
 *
 * <pre>{@code
 * {"version": 1, "stack": "imgscale", "parameters": {"model": "mobilenet-v2-int8", ...}}
 * }</pre>
 *
 * <p>A write replaces the file atomically (a temporary file in the same folder, then a rename), so a
 * reader sees the old parameters or the new ones, never half a file. Writers in one process are
 * serialised; two processes writing different keys at the same moment may lose one of the writes
 * (the last rename wins), which {@code init}, the one writer, never does.
 */
public final class FileParameterStore implements ParameterStore {

    /** The file format's version; a file with another version is refused rather than misread. */
    public static final int FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path folder;

    /** A store keeping one file per stack in {@code folder} (created on the first write). */
    public FileParameterStore(Path folder) {
        this.folder = Objects.requireNonNull(folder, "folder").toAbsolutePath().normalize();
    }

    /** The file holding the stack's parameters. */
    public Path file(String stack) {
        StackNames.checkStack(stack);
        return folder.resolve(stack + ".json");
    }

    @Override
    public synchronized Map<String, String> read(String stack) {
        Path file = file(stack);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return new LinkedHashMap<>();
        } catch (IOException e) {
            throw damaged(file, e.getMessage(), e);
        }
        if (root == null || !root.isObject() || root.path("version").asInt(-1) != FORMAT_VERSION
                || !root.path("parameters").isObject()) {
            throw damaged(file, "not a version " + FORMAT_VERSION + " parameter file", null);
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.get("parameters").properties()) {
            if (!field.getValue().isTextual()) {
                throw damaged(file, "the value of " + field.getKey() + " is not a string", null);
            }
            values.put(field.getKey(), field.getValue().asText());
        }
        return values;
    }

    @Override
    public synchronized void write(String stack, Map<String, String> parameters) {
        Map<String, String> merged = new TreeMap<>(read(stack));
        parameters.forEach((key, value) -> {
            if (key == null || key.isBlank() || value == null || value.isEmpty()) {
                throw new IllegalArgumentException("Parameter keys and values must not be empty: " + key + "=" + value);
            }
            merged.put(key, value);
        });
        ObjectNode root = JSON.createObjectNode().put("version", FORMAT_VERSION).put("stack", stack);
        ObjectNode values = root.putObject("parameters");
        merged.forEach(values::put);
        replace(file(stack), root);
    }

    @Override
    public synchronized void delete(String stack) {
        Path file = file(stack);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new ImgscaleException("Cannot delete the parameter file " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String location(String stack) {
        return file(stack).toString();
    }

    private static void replace(Path target, ObjectNode content) {
        try {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".tmp");
            try {
                JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), content);
                try {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new ImgscaleException("Cannot write the parameter file " + target + ": " + e.getMessage(), e);
        }
    }

    private static ImgscaleException damaged(Path file, String why, Throwable cause) {
        return new ImgscaleException("The parameter file " + file + " is damaged (" + why
                + "); delete it and run `imgscale init` again.", cause);
    }
}
