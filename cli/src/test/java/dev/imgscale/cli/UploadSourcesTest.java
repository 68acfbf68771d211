package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.UploadItem;
import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What `upload` is given, walked lazily and read twice: the same items each pass, skipped files reported once. */
class UploadSourcesTest {
    @TempDir
    Path dir;

    static List<String> names(Iterable<UploadItem> items) {
        List<String> out = new ArrayList<>();
        items.forEach(i -> out.add(i.name()));
        return out;
    }

    @Test
    void should_walk_folders_in_name_order_twice_and_report_a_skipped_file_once() throws Exception {
        Path photos = Files.createDirectories(dir.resolve("photos"));
        Files.createDirectories(photos.resolve("b/deeper"));
        Files.createDirectories(photos.resolve("a"));
        Files.write(photos.resolve("z.jpg"), new byte[] {1});
        Files.write(photos.resolve("a/x.png"), new byte[] {1});
        Files.write(photos.resolve("b/deeper/y.jpg"), new byte[] {1, 2});
        Files.writeString(photos.resolve("b/notes.txt"), "not an image");
        List<Path> skipped = new ArrayList<>();
        try (UploadSources sources = new UploadSources(List.of(photos.toString()), null, skipped::add)) {
            List<String> first = names(sources);
            assertEquals(List.of("a/x.png", "b/deeper/y.jpg", "z.jpg"), first);
            assertEquals(first, names(sources), "the second pass gives the same items");
            assertEquals(List.of(photos.resolve("b/notes.txt").toAbsolutePath()), skipped, "reported on the first pass only");
        }
    }

    @Test
    void should_read_the_paths_on_standard_input_twice_and_files_and_globs_beside_them() throws Exception {
        Path one = Files.write(dir.resolve("one.jpg"), new byte[] {1});
        Path two = Files.write(dir.resolve("two.jpg"), new byte[] {1});
        Files.createDirectories(dir.resolve("g"));
        Files.write(dir.resolve("g/p.jpg"), new byte[] {1});
        Files.write(dir.resolve("g/q.png"), new byte[] {1});
        BufferedReader stdin = new BufferedReader(new StringReader(one + "\n\n  " + two + "  \n"));
        try (UploadSources sources = new UploadSources(List.of("-", dir.resolve("g") + "/*.jpg"), stdin, p -> { })) {
            assertEquals(List.of("one.jpg", "two.jpg", "p.jpg"), names(sources));
            assertEquals(List.of("one.jpg", "two.jpg", "p.jpg"), names(sources));
        }
    }

    @Test
    void should_say_in_one_sentence_when_a_path_does_not_exist_or_a_glob_matches_nothing() {
        try (UploadSources missing = new UploadSources(List.of(dir.resolve("nope.jpg").toString()), null, p -> { })) {
            assertEquals("No such file or folder: " + dir.resolve("nope.jpg") + ".",
                    assertThrows(ImgscaleException.class, () -> names(missing)).getMessage());
        }
        try (UploadSources none = new UploadSources(List.of(dir + "/*.gif"), null, p -> { })) {
            assertEquals("No file matches " + dir + "/*.gif.", assertThrows(ImgscaleException.class, () -> names(none)).getMessage());
        }
    }
}
