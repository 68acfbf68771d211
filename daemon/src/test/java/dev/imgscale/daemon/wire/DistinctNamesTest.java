package dev.imgscale.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DistinctNamesTest {
    @Test
    void should_say_whether_each_name_was_given_before_like_a_set_of_the_names() {
        DistinctNames names = new DistinctNames();
        Set<String> reference = new HashSet<>();
        Random random = new Random(7);
        for (int i = 0; i < 50_000; i++) {
            // a name drawn from 30,000, so that many come again; case and Unicode count
            int n = random.nextInt(30_000);
            String name = (n % 3 == 0 ? "IMG_" : n % 3 == 1 ? "img_" : "ünï/") + n + ".jpg";
            assertEquals(reference.add(name), names.add(name), name);
        }
        assertEquals(reference.size(), names.size());
        assertTrue(names.size() > 20_000, "the table grew past its start many times: " + names.size());
    }

    @Test
    void should_tell_apart_names_that_differ_in_case_or_by_a_byte() {
        DistinctNames names = new DistinctNames();
        assertTrue(names.add("dup.jpg"));
        assertTrue(names.add("DUP.jpg"));
        assertTrue(names.add("dup.jpg "));
        assertTrue(names.add(""));
        assertTrue(names.contains("DUP.jpg"));
        assertFalse(names.contains("Dup.jpg"), "a name never added");
        assertFalse(names.add("dup.jpg"));
        assertFalse(names.add(""));
        assertEquals(4, names.size());
    }

    @Test
    void should_hold_a_million_names_in_tens_of_megabytes() {
        DistinctNames names = new DistinctNames();
        for (int i = 0; i < 1_000_000; i++) {
            names.add("photos/2026/shoot-" + i + ".jpg");
        }
        assertEquals(1_000_000, names.size());
        // 16 bytes a name at a load of 0.35-0.7: 32 MiB for a million (a set of the names: ~150 MB)
        assertTrue(names.bytesHeld() <= 48L << 20, names.bytesHeld() + " bytes");
    }
}
