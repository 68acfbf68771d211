package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.wire.ImageExtensions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Expands command-line paths into image files: a file is taken as it is (a bad one then gets its
 * error), a folder is walked recursively for files whose names look like images, in a stable order.
 */
final class ImageFiles {
    static final Set<String> EXTENSIONS = ImageExtensions.ALL;

    /** Files found, and the count of files skipped in folders because their names are not images'. */
    record Found(List<Path> images, List<Path> skipped) {
    }

    private ImageFiles() {
    }

    static boolean looksLikeImage(Path file) {
        return ImageExtensions.matches(file.getFileName().toString());
    }

    static Found expand(List<Path> paths) {
        List<Path> images = new ArrayList<>();
        List<Path> skipped = new ArrayList<>();
        for (Path path : paths) {
            if (Files.isDirectory(path)) {
                try (Stream<Path> walk = Files.walk(path, FileVisitOption.FOLLOW_LINKS)) {
                    walk.filter(Files::isRegularFile).sorted().forEach(f -> (looksLikeImage(f) ? images : skipped).add(f));
                } catch (IOException | UncheckedIOException e) {
                    throw new ImgscaleException("Cannot read the folder " + path + ": " + e.getMessage(), e);
                }
            } else if (Files.exists(path)) {
                images.add(path);
            } else {
                throw new ImgscaleException("No such file or folder: " + path + ".");
            }
        }
        return new Found(images, skipped);
    }
}
