package dev.imgscale.daemon.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.wire.ObjectRef;
import java.io.BufferedReader;
import java.io.Reader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestReaderTest {
    static List<ObjectRef> read(String text, String defaultBucket) {
        List<ObjectRef> out = new ArrayList<>();
        new ManifestReader(new BufferedReader(new StringReader(text)), "m.csv", defaultBucket).forEachRemaining(out::add);
        return out;
    }

    @Test
    void should_read_one_key_or_url_per_line() {
        assertEquals(List.of(new ObjectRef("photos", "a.jpg"), new ObjectRef("other", "b/c.png"), new ObjectRef("photos", "d e.jpg")),
                read("a.jpg\n\ns3://other/b/c.png\r\n/d e.jpg\n", "photos"));
        assertEquals(List.of(new ObjectRef("photos", "a.jpg")), read("key\na.jpg\n", "photos"), "a lone header word is a header");
        assertEquals(List.of(), read("", "photos"));
    }

    @Test
    void should_find_the_column_of_a_csv_by_its_header_or_by_its_urls() {
        assertEquals(List.of(new ObjectRef("pix", "x/1.jpg"), new ObjectRef("pix", "x,2.jpg")),
                read("\uFEFFid,S3_URL,label\n1,s3://pix/x/1.jpg,cat\n2,\"s3://pix/x,2.jpg\",dog\n", null));
        assertEquals(List.of(new ObjectRef("pix", "1.jpg"), new ObjectRef("pix", "2.jpg")), read("7,s3://pix/1.jpg\n8,s3://pix/2.jpg\n", null));
        assertEquals(List.of(new ObjectRef("bkt", "k1.jpg")), read("label,key\ncat,k1.jpg\n", "bkt"));
    }

    @Test
    void should_stop_at_a_line_that_names_no_object_and_say_which() {
        ImgscaleException noBucket = assertThrows(ImgscaleException.class, () -> read("s3://pix/a.jpg\n\nb.jpg\n", null));
        assertTrue(noBucket.getMessage().contains("Line 3") && noBucket.getMessage().contains("s3://BUCKET/b.jpg"), noBucket.getMessage());
        ImgscaleException column = assertThrows(ImgscaleException.class, () -> read("id,label\n1,cat\n", "bkt"));
        assertTrue(column.getMessage().contains("which column"), column.getMessage());
        ImgscaleException empty = assertThrows(ImgscaleException.class, () -> read("id,url\n1,s3://pix/a.jpg\n2,\n", null));
        assertTrue(empty.getMessage().contains("Line 3"), empty.getMessage());
        assertThrows(ImgscaleException.class, () -> read("url\ns3://Bad_Bucket/a.jpg\n", null));
        assertThrows(ImgscaleException.class, () -> read("id,url\n1,\"s3://pix/a.jpg\n", null));
    }

    @Test
    void should_stream_a_million_line_manifest_without_holding_it() {
        // the manifest is generated as it is read: nothing holds its million lines, and neither may the reader
        Reader generated = new Reader() {
            int line;
            String current = "";
            int pos;

            @Override
            public int read(char[] buf, int off, int len) {
                if (pos == current.length()) {
                    if (line == 1_000_000) {
                        return -1;
                    }
                    current = "s3://photos/day" + (line % 365) + "/img" + line + ".jpg\n";
                    line++;
                    pos = 0;
                }
                int n = Math.min(len, current.length() - pos);
                current.getChars(pos, pos + n, buf, off);
                pos += n;
                return n;
            }

            @Override
            public void close() {
            }
        };
        ManifestReader reader = new ManifestReader(new BufferedReader(generated), "generated", null);
        long count = 0;
        ObjectRef last = null;
        while (reader.hasNext()) {
            last = reader.next();
            count++;
        }
        assertEquals(1_000_000, count);
        assertEquals(new ObjectRef("photos", "day264/img999999.jpg"), last);
        assertEquals(1_000_000, reader.lineNumber());
    }
}
