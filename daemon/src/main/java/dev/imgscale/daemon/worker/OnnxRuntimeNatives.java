package dev.imgscale.daemon.worker;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.jar.JarEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Points ONNX Runtime at a copy of its native libraries kept in imgscale's cache, so that a worker
 * does not unpack them again at every start. Left alone, ONNX Runtime's Java binding copies its
 * 21 MB library out of the jar into a fresh temporary folder each time it loads (about 100 ms of
 * a worker's start here: 135-140 ms to the first environment against 35 ms from a copy); given
 * the system property {@value #PROPERTY} it loads the libraries from that folder instead.
 *
 * <p>The copy lives in {@code <cache>/native/onnxruntime-<crc>}, named after the jar entries' CRCs,
 * so a jar with another ONNX Runtime gets its own folder. Files are written under temporary names
 * and moved into place, so two workers starting together never load a half-written library.
 * Anything unexpected (no such resource, a read-only cache) leaves the property unset: ONNX Runtime
 * then unpacks as it always does.
 */
final class OnnxRuntimeNatives {
    /** ONNX Runtime's own property: the folder to load its native libraries from. */
    static final String PROPERTY = "onnxruntime.native.path";

    private static final Logger LOG = LoggerFactory.getLogger(OnnxRuntimeNatives.class);
    private static final List<String> LIBRARIES = List.of("libonnxruntime.so", "libonnxruntime4j_jni.so");

    private OnnxRuntimeNatives() {
    }

    /** Sets {@value #PROPERTY} to a cached copy of the libraries, making it first if need be; false when it did not. */
    static synchronized boolean useCached(Path cacheDir) {
        if (System.getProperty(PROPERTY) != null) {
            return true;
        }
        String platform = platform();
        if (platform == null) {
            return false;
        }
        try {
            long key = 17;
            URL[] urls = new URL[LIBRARIES.size()];
            long[] sizes = new long[LIBRARIES.size()];
            for (int i = 0; i < LIBRARIES.size(); i++) {
                URL url = OnnxRuntimeNatives.class.getClassLoader().getResource("ai/onnxruntime/native/" + platform + "/" + LIBRARIES.get(i));
                if (url == null) {
                    return false;
                }
                URLConnection connection = url.openConnection();
                if (!(connection instanceof JarURLConnection jar)) {
                    return false;
                }
                JarEntry entry = jar.getJarEntry();
                urls[i] = url;
                sizes[i] = entry.getSize();
                key = key * 31 + entry.getCrc();
            }
            Path dir = cacheDir.resolve("native").resolve("onnxruntime-" + platform + "-" + Long.toHexString(key));
            Files.createDirectories(dir);
            for (int i = 0; i < LIBRARIES.size(); i++) {
                Path target = dir.resolve(LIBRARIES.get(i));
                if (Files.isRegularFile(target) && Files.size(target) == sizes[i]) {
                    continue;
                }
                Path part = Files.createTempFile(dir, LIBRARIES.get(i), ".part");
                try (InputStream in = urls[i].openStream()) {
                    Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
                }
                try {
                    Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
                }
                LOG.debug("Unpacked ONNX Runtime's {} into {}", LIBRARIES.get(i), dir);
            }
            System.setProperty(PROPERTY, dir.toString());
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.debug("Cannot keep ONNX Runtime's native libraries in {} ({}); it unpacks them itself", cacheDir, e.toString());
            return false;
        }
    }

    /** ONNX Runtime's name for this platform's folder of natives, or null where it has none we know. */
    private static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux")) {
            return null;
        }
        return switch (arch) {
            case "amd64", "x86_64" -> "linux-x64";
            case "aarch64", "arm64" -> "linux-aarch64";
            default -> null;
        };
    }
}
