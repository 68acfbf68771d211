package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cached copy of ONNX Runtime's native libraries: made once, reused after, and named in the
 * property ONNX Runtime reads. Never loads ONNX Runtime itself, and clears the property after, so
 * that other tests in this JVM load it the usual way.
 */
@EnabledOnOs(OS.LINUX)
class OnnxRuntimeNativesTest {
    String before = System.getProperty(OnnxRuntimeNatives.PROPERTY);

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty(OnnxRuntimeNatives.PROPERTY);
        } else {
            System.setProperty(OnnxRuntimeNatives.PROPERTY, before);
        }
    }

    @Test
    void should_unpack_the_libraries_once_into_the_cache_and_point_onnx_runtime_at_them(@TempDir Path cache) throws IOException {
        System.clearProperty(OnnxRuntimeNatives.PROPERTY);
        assertTrue(OnnxRuntimeNatives.useCached(cache), "the ONNX Runtime jar with linux natives is on the test class path");
        Path dir = Path.of(System.getProperty(OnnxRuntimeNatives.PROPERTY));
        assertTrue(dir.startsWith(cache.resolve("native")), dir.toString());
        List<String> files = list(dir);
        assertEquals(List.of("libonnxruntime.so", "libonnxruntime4j_jni.so"), files, "no temporary file left behind");
        assertTrue(Files.size(dir.resolve("libonnxruntime.so")) > 1_000_000, "the whole library was copied");

        // A second start finds the copy: nothing is written again.
        long modified = Files.getLastModifiedTime(dir.resolve("libonnxruntime.so")).toMillis();
        System.clearProperty(OnnxRuntimeNatives.PROPERTY);
        assertTrue(OnnxRuntimeNatives.useCached(cache));
        assertEquals(dir.toString(), System.getProperty(OnnxRuntimeNatives.PROPERTY));
        assertEquals(modified, Files.getLastModifiedTime(dir.resolve("libonnxruntime.so")).toMillis());
        assertEquals(files, list(dir));
    }

    @Test
    void should_leave_a_path_the_user_set_alone(@TempDir Path cache) throws IOException {
        System.setProperty(OnnxRuntimeNatives.PROPERTY, "/opt/elsewhere");
        assertTrue(OnnxRuntimeNatives.useCached(cache));
        assertEquals("/opt/elsewhere", System.getProperty(OnnxRuntimeNatives.PROPERTY));
        assertEquals(List.of(), list(cache));
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
