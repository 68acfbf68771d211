package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.decode.ImageFormat;
import dev.imgscale.classifier.decode.ImageHeaders;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.client.UploadItem;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Expands what `upload` is given into files and their names within the job: files (named by
 * their file name), folders (walked recursively; a name is the path below the folder, so
 * {@code x/a.jpg} and {@code y/a.jpg} stay distinct), globs ({@code 'shots/*.jpg'}, for shells that
 * do not expand them), and {@code -} for a list of paths on standard input. Names that still
 * collide (two folders both holding {@code a.jpg}) get a {@code ~2} suffix, chosen once every input
 * is known so that it never takes the name of another input.
 * Files that are not images (neither by extension nor by their first bytes) are skipped.
 */
final class UploadSources {
    record Expanded(List<UploadItem> items, List<Path> skipped) {
    }

    private record Found(Path file, String relativeName, long size) {
    }

    private final List<Found> items = new ArrayList<>();
    private final List<Path> skipped = new ArrayList<>();

    static Expanded expand(List<String> args, BufferedReader stdin) {
        UploadSources sources = new UploadSources();
        for (String arg : args) {
            if (arg.equals("-")) {
                try {
                    for (String line; (line = stdin.readLine()) != null; ) {
                        if (!line.isBlank()) {
                            sources.add(line.strip());
                        }
                    }
                } catch (IOException e) {
                    throw new ImgscaleException("Cannot read the list of files on standard input: " + e.getMessage(), e);
                }
            } else {
                sources.add(arg);
            }
        }
        List<String> names = ImageNames.assign(sources.items.stream().map(Found::relativeName).toList());
        List<UploadItem> items = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            Found f = sources.items.get(i);
            items.add(new UploadItem(f.file(), names.get(i), f.size()));
        }
        return new Expanded(List.copyOf(items), List.copyOf(sources.skipped));
    }

    private void add(String arg) {
        Path path = Path.of(arg);
        if (Files.isDirectory(path)) {
            walk(path, null);
        } else if (Files.isRegularFile(path)) {
            file(path, path.getFileName().toString());
        } else if (isGlob(arg)) {
            glob(arg);
        } else {
            throw new ImgscaleException("No such file or folder: " + arg + ".");
        }
    }

    private static boolean isGlob(String arg) {
        return arg.indexOf('*') >= 0 || arg.indexOf('?') >= 0 || arg.indexOf('[') >= 0 || arg.indexOf('{') >= 0;
    }

    private void glob(String pattern) {
        // the base folder is the part of the pattern before its first glob character
        String normal = pattern.replace('\\', '/');
        int firstGlob = normal.length();
        for (char c : new char[] {'*', '?', '[', '{'}) {
            int i = normal.indexOf(c);
            if (i >= 0) {
                firstGlob = Math.min(firstGlob, i);
            }
        }
        int slash = normal.lastIndexOf('/', firstGlob);
        Path base = slash < 0 ? Path.of(".") : Path.of(normal.substring(0, slash + 1));
        String rest = slash < 0 ? normal : normal.substring(slash + 1);
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + rest);
        int before = items.size() + skipped.size();
        if (Files.isDirectory(base)) {
            walk(base, matcher);
        }
        if (items.size() + skipped.size() == before) {
            throw new ImgscaleException("No file matches " + pattern + ".");
        }
    }

    private void walk(Path dir, PathMatcher matcher) {
        Path root = dir.toAbsolutePath().normalize();
        try (Stream<Path> walk = Files.walk(root, FileVisitOption.FOLLOW_LINKS)) {
            walk.filter(Files::isRegularFile).sorted().forEach(f -> {
                Path relative = root.relativize(f);
                if (matcher == null || matcher.matches(relative)) {
                    file(f, relative.toString());
                }
            });
        } catch (IOException | UncheckedIOException e) {
            throw new ImgscaleException("Cannot read the folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private void file(Path file, String relativeName) {
        if (!ImageFiles.looksLikeImage(file) && !startsLikeImage(file)) {
            skipped.add(file);
            return;
        }
        try {
            items.add(new Found(file, relativeName, Files.size(file)));
        } catch (IOException e) {
            throw new ImgscaleException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static boolean startsLikeImage(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(64);
            return ImageHeaders.sniff(head) != ImageFormat.UNKNOWN;
        } catch (IOException e) {
            return false;
        }
    }
}
