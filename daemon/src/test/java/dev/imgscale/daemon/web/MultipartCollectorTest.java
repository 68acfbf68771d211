package dev.imgscale.daemon.web;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.undertow.server.DefaultByteBufferPool;
import io.undertow.util.MultipartParser;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The limits applied while a multipart body is parsed, whatever its size or number of parts. */
class MultipartCollectorTest {
    static final String BOUNDARY = "----test-boundary";

    @TempDir
    Path temp;

    static byte[] body(List<Object[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object[] p : parts) {
            out.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + p[0] + "\""
                    + (p[1] == null ? "" : "; filename=\"" + p[1] + "\"") + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.writeBytes((byte[]) p[2]);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** Feeds the body in small pieces, as a slow client would send it. */
    static boolean parse(MultipartCollector collector, byte[] body) throws Exception {
        MultipartParser.ParseState parser = MultipartParser.beginParse(new DefaultByteBufferPool(false, 4096), collector,
                BOUNDARY.getBytes(StandardCharsets.US_ASCII), "UTF-8");
        for (int off = 0; off < body.length; off += 1000) {
            parser.parse(ByteBuffer.wrap(body, off, Math.min(1000, body.length - off)));
        }
        return parser.isComplete();
    }

    WebOptions limits(long fileBytes, int files) {
        return WebOptions.defaults().withLimits(fileBytes, 100L << 20, files);
    }

    @Test
    void should_keep_the_files_of_the_field_small_in_memory_large_in_a_temporary_file() throws Exception {
        byte[] small = "small".getBytes(StandardCharsets.US_ASCII);
        byte[] large = new byte[MultipartCollector.IN_MEMORY_BYTES + 5000];
        large[large.length - 1] = 7;
        MultipartCollector c = new MultipartCollector(limits(1 << 20, 10), temp, "myfile");
        assertTrue(parse(c, body(List.of(new Object[] {"other", "o.jpg", small}, new Object[] {"myfile", "鳥 été.jpg", small},
                new Object[] {"note", null, small}, new Object[] {"myfile", "big.jpg", large}))));
        assertEquals(2, c.files().size());
        assertEquals("鳥 été.jpg", c.files().get(0).fileName(), "part headers are read as UTF-8");
        assertArrayEquals(small, c.files().get(0).bytes());
        Path file = c.files().get(1).file();
        assertArrayEquals(large, Files.readAllBytes(file));
        c.discard();
        assertTrue(Files.notExists(file), "discard deletes the temporary files");
    }

    @Test
    void should_refuse_413_at_the_file_past_the_limit_of_files_even_among_5000() {
        List<Object[]> parts = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            parts.add(new Object[] {"files", "p" + i + ".jpg", new byte[] {1}});
        }
        MultipartCollector c = new MultipartCollector(limits(1 << 20, 1000), temp, null);
        HttpError e = assertThrows(HttpError.class, () -> parse(c, body(parts)));
        assertEquals(413, e.status());
        assertTrue(e.getMessage().contains("--max-files"), e.getMessage());
        assertEquals(1000, c.files().size(), "it stopped at the limit");
    }

    @Test
    void should_refuse_413_a_body_of_many_text_parts() {
        List<Object[]> parts = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            parts.add(new Object[] {"f" + i, null, new byte[] {'x'}});
        }
        HttpError e = assertThrows(HttpError.class, () -> parse(new MultipartCollector(limits(1 << 20, 1000), temp, null), body(parts)));
        assertEquals(413, e.status());
    }

    @Test
    void should_refuse_413_a_file_over_its_limit_while_it_arrives() {
        MultipartCollector c = new MultipartCollector(limits(10_000, 10), temp, null);
        HttpError e = assertThrows(HttpError.class, () -> parse(c, body(List.<Object[]>of(new Object[] {"f", "big.jpg",
                new byte[10_001]}))));
        assertEquals(413, e.status());
        assertTrue(e.getMessage().contains("--max-file-mb"), e.getMessage());
    }
}
