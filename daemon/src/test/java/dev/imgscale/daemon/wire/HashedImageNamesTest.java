package dev.imgscale.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The collision rule in bounded memory: hashes of names, two passes, the same names as {@link ImageNames#assign}. */
class HashedImageNamesTest {
    static List<String> assign(List<String> inputs) {
        HashedImageNames names = new HashedImageNames();
        inputs.forEach(names::claim);
        List<String> out = new ArrayList<>();
        inputs.forEach(i -> out.add(names.unique(i)));
        return out;
    }

    @Test
    void should_keep_case_distinct_names_and_never_give_a_suffix_another_input_has() {
        assertEquals(List.of("DUP.jpg", "dup.jpg", "dup~3.jpg", "dup~2.jpg"), assign(List.of("DUP.jpg", "dup.jpg", "dup.jpg", "dup~2.jpg")));
    }

    @Test
    void should_keep_a_300_byte_name_whole_and_cut_one_over_the_limit_as_image_names_does() {
        String name300 = "é".repeat(148) + ".jpg"; // 296 + 4 bytes
        assertEquals(300, ImageNames.utf8Length(name300));
        String tooLong = "x".repeat(1000) + ".jpg";
        List<String> inputs = List.of(name300, name300, tooLong, tooLong);
        List<String> got = assign(inputs);
        assertEquals(ImageNames.assign(inputs), got);
        assertEquals(name300, got.get(0));
        assertTrue(got.stream().allMatch(n -> ImageNames.utf8Length(n) <= ImageNames.MAX_BYTES), got.toString());
    }

    @Test
    void should_name_random_colliding_inputs_exactly_as_the_in_memory_rule() {
        Random random = new Random(13);
        List<String> inputs = new ArrayList<>();
        String[] stems = {"a", "A", "b", "a~2", "a~3", "dir/a", "Dir/a", "café", "cafe\u0301"};
        for (int i = 0; i < 5000; i++) {
            inputs.add(stems[random.nextInt(stems.length)] + (random.nextBoolean() ? ".jpg" : ".JPG"));
        }
        assertEquals(ImageNames.assign(inputs), assign(inputs));
    }

    @Test
    void should_hold_hashes_not_names() {
        HashedImageNames names = new HashedImageNames();
        for (int i = 0; i < 100_000; i++) {
            names.claim("photo-" + i + ".jpg");
        }
        for (int i = 0; i < 100_000; i++) {
            assertEquals("photo-" + i + ".jpg", names.unique("photo-" + i + ".jpg"));
        }
        assertEquals(200_000, names.hashesHeld());
    }
}
