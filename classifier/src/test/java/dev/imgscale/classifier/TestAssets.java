package dev.imgscale.classifier;

import dev.imgscale.classifier.assets.AssetResolver;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where tests find the shared assets: the folders of {@code IMGSCALE_ASSETS} as CI sets them, or
 * {@code ../shared/assets/*} beside the checkout for a developer who has not set it.
 */
public final class TestAssets {
    private TestAssets() {
    }

    public static Path shared() {
        String env = System.getenv("IMGSCALE_SHARED");
        if (env != null) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("imgscale.repo", "..")).resolve("../shared").toAbsolutePath().normalize();
    }

    public static List<Path> folders() {
        List<Path> folders = new ArrayList<>();
        String env = System.getenv("IMGSCALE_ASSETS");
        if (env != null && !env.isBlank()) {
            for (String part : env.split(File.pathSeparator)) {
                folders.add(Path.of(part));
            }
        } else {
            folders.add(shared().resolve("assets/models"));
            folders.add(shared().resolve("assets/images"));
        }
        return folders;
    }

    /** A resolver over the shared assets that never downloads (tests run offline). */
    public static AssetResolver resolver(Path cacheDir) {
        return new AssetResolver(folders(), cacheDir, false);
    }

    /** The folder holding the development images and expected.csv. */
    public static Path images() {
        for (Path folder : folders()) {
            if (Files.isRegularFile(folder.resolve("expected.csv"))) {
                return folder;
            }
        }
        throw new IllegalStateException("no folder of IMGSCALE_ASSETS " + folders() + " holds expected.csv");
    }

    /** Rows of expected.csv: file, top1, top1_prob, top2, top3. */
    public static List<String[]> expected() throws IOException {
        List<String[]> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(images().resolve("expected.csv"), StandardCharsets.UTF_8);
        for (String line : lines.subList(1, lines.size())) {
            if (!line.isBlank()) {
                rows.add(line.split(","));
            }
        }
        return rows;
    }

    /**
     * Writes a ResNet ONNX with the real topology and random weights, using the shared tool (needs
     * Debian's python3-onnx and python3-numpy, which .ci/run installs).
     */
    public static Path makeResNet(int depth, Path out) throws IOException, InterruptedException {
        Path tool = shared().resolve("tools/make_resnet_onnx.py");
        Process p = new ProcessBuilder("/usr/bin/python3", tool.toString(), "--depth", String.valueOf(depth), "--out", out.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0 || !Files.isRegularFile(out)) {
            throw new IllegalStateException("make_resnet_onnx.py failed (install python3-onnx and python3-numpy): " + output);
        }
        return out;
    }
}
