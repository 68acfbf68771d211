package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.decode.ImageFormat;
import dev.imgscale.classifier.decode.ImageHeaders;
import dev.imgscale.daemon.client.UploadItem;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What `upload` is given, as files and their relative names within the job: files (named by their
 * file name), folders (walked recursively; a name is the path below the folder, so {@code x/a.jpg}
 * and {@code y/a.jpg} stay distinct), globs ({@code 'shots/*.jpg'}, for shells that do not expand
 * them), and {@code -} for a list of paths on standard input. Files that are not images (neither by
 * extension nor by their first bytes) are skipped.
 *
 * <p>An {@link Iterable} read as it goes and never held: the upload iterates it twice (names
 * first, then the files; {@code JobClient.upload} makes colliding names unique), so a folder of a
 * million files costs one directory's listing at a time. Standard input is copied to a temporary
 * file on the first pass so that the second can read it again. The first pass reports skipped
 * files and paths that do not exist.
 */
final class UploadSources implements Iterable<UploadItem>, AutoCloseable {
    private final List<String> args;
    private final BufferedReader stdin;
    private final Consumer<Path> onSkipped;
    private Path spool;
    private boolean passed;

    UploadSources(List<String> args, BufferedReader stdin, Consumer<Path> onSkipped) {
        this.args = List.copyOf(args);
        this.stdin = stdin;
        this.onSkipped = onSkipped;
    }

    @Override
    public Iterator<UploadItem> iterator() {
        boolean first = !passed;
        passed = true;
        return new Items(first);
    }

    /** Deletes the copy of standard input, if any. */
    @Override
    public void close() {
        if (spool != null) {
            try {
                Files.deleteIfExists(spool);
            } catch (IOException ignored) {
                // a temporary file left behind is harmless
            }
        }
    }

    private Iterator<String> stdinPaths() {
        try {
            if (spool == null) {
                spool = Files.createTempFile("imgscale-upload-", ".txt");
                try (BufferedWriter w = Files.newBufferedWriter(spool, StandardCharsets.UTF_8)) {
                    for (String line; (line = stdin.readLine()) != null; ) {
                        if (!line.isBlank()) {
                            w.write(line.strip());
                            w.newLine();
                        }
                    }
                }
            }
            return Files.lines(spool, StandardCharsets.UTF_8).iterator();
        } catch (IOException | UncheckedIOException e) {
            throw new ImgscaleException("Cannot read the list of files on standard input: " + e.getMessage(), e);
        }
    }

    /** One pass: the arguments in order, each expanded lazily. */
    private final class Items implements Iterator<UploadItem> {
        private final boolean first;
        private final Iterator<String> argIt = args.iterator();
        private Iterator<String> fromStdin;
        private Walk walk;
        private UploadItem next;

        Items(boolean first) {
            this.first = first;
        }

        @Override
        public boolean hasNext() {
            while (next == null) {
                if (walk != null) {
                    next = walk.next();
                    if (next == null) {
                        walk.finish();
                        walk = null;
                    }
                } else if (fromStdin != null && fromStdin.hasNext()) {
                    start(fromStdin.next());
                } else if (argIt.hasNext()) {
                    fromStdin = null;
                    String arg = argIt.next();
                    if (arg.equals("-")) {
                        fromStdin = stdinPaths();
                    } else {
                        start(arg);
                    }
                } else {
                    return false;
                }
            }
            return true;
        }

        @Override
        public UploadItem next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            UploadItem item = next;
            next = null;
            return item;
        }

        private void start(String arg) {
            Path path = Path.of(arg);
            if (Files.isDirectory(path)) {
                walk = new Walk(path, null, arg, first);
            } else if (Files.isRegularFile(path)) {
                next = file(path, path.getFileName().toString(), first);
            } else if (isGlob(arg)) {
                walk = glob(arg, first);
            } else {
                throw new ImgscaleException("No such file or folder: " + arg + ".");
            }
        }
    }

    private static boolean isGlob(String arg) {
        return arg.indexOf('*') >= 0 || arg.indexOf('?') >= 0 || arg.indexOf('[') >= 0 || arg.indexOf('{') >= 0;
    }

    private Walk glob(String pattern, boolean first) {
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
        if (!Files.isDirectory(base)) {
            throw new ImgscaleException("No file matches " + pattern + ".");
        }
        return new Walk(base, matcher, pattern, first);
    }

    /**
     * A depth-first walk, each directory's entries in name order, holding one listing per level:
     * symbolic links are followed, a directory already on the path (a link cycle) is not entered again.
     */
    private final class Walk {
        private final Path root;
        private final PathMatcher matcher;
        private final String given;
        private final boolean first;
        private final Deque<Iterator<Path>> levels = new ArrayDeque<>();
        private final Deque<Object> onPath = new ArrayDeque<>();
        private final Set<Object> ancestors = new HashSet<>();
        private int matched;

        Walk(Path dir, PathMatcher matcher, String given, boolean first) {
            this.root = dir.toAbsolutePath().normalize();
            this.matcher = matcher;
            this.given = given;
            this.first = first;
            enter(root);
        }

        /** The next image below the root, or null at the end. */
        UploadItem next() {
            while (!levels.isEmpty()) {
                Iterator<Path> level = levels.peek();
                if (!level.hasNext()) {
                    levels.pop();
                    ancestors.remove(onPath.pop());
                    continue;
                }
                Path p = level.next();
                if (Files.isDirectory(p)) {
                    enter(p);
                } else if (Files.isRegularFile(p)) {
                    Path relative = root.relativize(p);
                    if (matcher == null || matcher.matches(relative)) {
                        matched++;
                        UploadItem item = file(p, relative.toString(), first);
                        if (item != null) {
                            return item;
                        }
                    }
                }
            }
            return null;
        }

        void finish() {
            if (matcher != null && matched == 0) {
                throw new ImgscaleException("No file matches " + given + ".");
            }
        }

        private void enter(Path dir) {
            Object key;
            List<Path> entries = new ArrayList<>();
            try {
                key = Files.readAttributes(dir, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
                if (key == null) {
                    key = dir.toRealPath();
                }
                if (ancestors.contains(key)) {
                    return;
                }
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                    ds.forEach(entries::add);
                }
            } catch (IOException | UncheckedIOException e) {
                throw new ImgscaleException("Cannot read the folder " + dir + ": " + e.getMessage(), e);
            }
            entries.sort(null);
            ancestors.add(key);
            onPath.push(key);
            levels.push(entries.iterator());
        }
    }

    /** The file as an item named {@code relativeName}, or null (reported on the first pass) when it is not an image. */
    private UploadItem file(Path file, String relativeName, boolean first) {
        if (!ImageFiles.looksLikeImage(file) && !startsLikeImage(file)) {
            if (first && onSkipped != null) {
                onSkipped.accept(file);
            }
            return null;
        }
        try {
            return new UploadItem(file, relativeName, Files.size(file));
        } catch (IOException e) {
            // gone or unreadable since it was listed: the upload reports it when it reads it
            return new UploadItem(file, relativeName, 0);
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
