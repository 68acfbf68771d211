package dev.imgscale.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageNamesTest {
    @Test
    void should_keep_three_names_that_differ_in_case_or_look_like_a_suffix() {
        assertEquals(List.of("DUP.jpg", "dup.jpg", "dup~2.jpg"), ImageNames.assign(List.of("DUP.jpg", "dup.jpg", "dup~2.jpg")));
        // incremental naming is case-sensitive too
        ImageNames names = new ImageNames();
        assertEquals("DUP.jpg", names.unique("DUP.jpg"));
        assertEquals("dup.jpg", names.unique("dup.jpg"));
    }

    @Test
    void should_never_give_a_suffix_that_a_later_input_has() {
        // two folders with a.jpg; the second also holds a real a~2.jpg that comes later
        assertEquals(List.of("a.jpg", "a~3.jpg", "a~2.jpg"), ImageNames.assign(List.of("a.jpg", "./a.jpg", "a~2.jpg")));
        assertEquals(List.of("a~2.jpg", "a.jpg", "a~3.jpg"), ImageNames.assign(List.of("a~2.jpg", "a.jpg", "a.jpg")));
        assertEquals(List.of("n", "n~3", "n~2"), ImageNames.assign(List.of("n", "n", "n~2")));
    }

    @Test
    void should_give_distinct_names_for_any_inputs() {
        List<String> inputs = List.of("a.jpg", "a.jpg", "a~2.jpg", "a~3.jpg", "A.jpg", "a.jpg", "./a.jpg", "a\u0000.jpg", "a~2~2.jpg");
        List<String> out = ImageNames.assign(inputs);
        assertEquals(inputs.size(), new HashSet<>(out).size(), out.toString());
        for (String name : out) {
            assertEquals(name, ImageNames.sanitise(name), "a name is its own sanitised form");
        }
    }

    @Test
    void should_count_the_limit_in_utf8_bytes_and_keep_the_end_of_a_long_name() {
        String longName = "é".repeat(600) + ".jpg"; // 1,204 bytes, 604 characters
        String name = ImageNames.sanitise(longName);
        assertTrue(name.getBytes(StandardCharsets.UTF_8).length <= ImageNames.MAX_BYTES, name.length() + " chars");
        assertTrue(name.endsWith("éé.jpg"), name);
        assertEquals(name, ImageNames.sanitise(name));
        assertEquals(name.getBytes(StandardCharsets.UTF_8).length, ImageNames.utf8Length(name));
        // four-byte characters are never cut in half
        String emoji = ImageNames.sanitise("😀".repeat(300) + ".png");
        assertTrue(ImageNames.utf8Length(emoji) <= ImageNames.MAX_BYTES && emoji.endsWith("😀.png"), emoji);
        assertEquals(emoji.getBytes(StandardCharsets.UTF_8).length, ImageNames.utf8Length(emoji));
        // the longest key a name goes into fits S3's 1,024 bytes with the longest job id
        String key = Keys.result("j".repeat(64), ImageNames.sanitise("x".repeat(2000)));
        assertEquals(1024, key.getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void should_keep_a_suffixed_long_name_within_the_limit() {
        String longName = "b".repeat(1200) + ".jpg";
        List<String> out = ImageNames.assign(List.of(longName, longName));
        assertEquals(2, new HashSet<>(out).size());
        assertTrue(out.get(1).endsWith("~2.jpg"), out.get(1));
        for (String n : out) {
            assertTrue(ImageNames.utf8Length(n) <= ImageNames.MAX_BYTES, n.length() + "");
        }
    }

    @Test
    void should_drop_what_is_unsafe_in_a_key_and_keep_what_is_not() {
        assertEquals("x/ä b.jpg", ImageNames.sanitise("./x\\ä b.jpg"));
        assertEquals("a/b.jpg", ImageNames.sanitise("/a//./b.jpg"));
        assertEquals("image", ImageNames.sanitise("../.."));
        assertEquals("ab.jpg", ImageNames.sanitise("a\u0007b\u200b.jpg"));
    }
}
