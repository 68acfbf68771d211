package dev.imgscale.daemon.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeaderValuesTest {
    @Test
    void should_keep_plain_names_and_percent_encode_everything_else_as_utf8() {
        assertEquals("parrot.jpg", HeaderValues.encode("parrot.jpg"));
        assertEquals("folder/cat_720p~2.jpg", HeaderValues.encode("folder/cat_720p~2.jpg"));
        assertEquals("%E9%B3%A5%20%C3%A9t%C3%A9%20%F0%9F%A6%9C.jpg", HeaderValues.encode("鳥 été 🦜.jpg"));
        assertEquals("a%2Bb%25c%22%3B.jpg", HeaderValues.encode("a+b%c\";.jpg"));
    }

    @Test
    void should_decode_back_with_a_standard_decoder() {
        for (String name : List.of("鳥 été 🦜.jpg", "a+b%c.jpg", "x\u00e9/\u0416.png", "tab\tname.jpg")) {
            String encoded = HeaderValues.encode(name);
            assertTrue(encoded.chars().allMatch(c -> c > 32 && c < 127), encoded);
            assertEquals(name, URLDecoder.decode(encoded, StandardCharsets.UTF_8));
        }
    }
}
