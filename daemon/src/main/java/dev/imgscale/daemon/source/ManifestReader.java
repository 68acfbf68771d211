package dev.imgscale.daemon.source;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.S3Url;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Reads a manifest of images in place, one line at a time (a million lines take no more memory
 * than one): either one key or {@code s3://} URL per line, or a CSV whose column of keys or URLs
 * is found by its header ({@code url}, {@code s3_url}, {@code uri}, {@code key}, {@code path}...)
 * or, without a header, as the column whose first value is an {@code s3://} URL. A bare key is in
 * {@code defaultBucket} (the manifest's own bucket for an {@code s3://} manifest). Blank lines are
 * skipped; a line that names no object stops the reading with its line number.
 */
public final class ManifestReader implements Iterator<ObjectRef>, AutoCloseable {
    static final List<String> COLUMN_NAMES = List.of("s3_url", "s3url", "s3_uri", "s3uri", "url", "uri", "key", "object_key", "object",
            "path", "image", "file", "filename", "source", "location");
    private static final Set<String> HEADER_WORDS = Set.copyOf(COLUMN_NAMES);

    private final BufferedReader in;
    private final String defaultBucket;
    private final String name;
    private int lineNumber;
    private boolean csv;
    private int column;
    private ObjectRef next;
    private boolean started;

    /**
     * @param name          the manifest as the user named it, for messages
     * @param defaultBucket the bucket of bare keys, or null when every line must be an s3:// URL
     */
    public ManifestReader(BufferedReader in, String name, String defaultBucket) {
        this.in = in;
        this.name = name;
        this.defaultBucket = defaultBucket;
    }

    @Override
    public boolean hasNext() {
        if (!started) {
            started = true;
            detect();
        } else if (next == null) {
            next = readNext();
        }
        return next != null;
    }

    @Override
    public ObjectRef next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        ObjectRef r = next;
        next = null;
        return r;
    }

    /** Lines read so far. */
    public int lineNumber() {
        return lineNumber;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    /** Reads the first non-blank line and decides the manifest's form from it. */
    private void detect() {
        String first = line();
        if (first == null) {
            return;
        }
        if (first.startsWith("\uFEFF")) {
            first = first.substring(1); // a byte order mark from a spreadsheet
        }
        if (first.indexOf(',') < 0) {
            // one value per line; a lone header word ("key", "url") is a header
            if (HEADER_WORDS.contains(first.strip().toLowerCase(Locale.ROOT))) {
                next = readNext();
            } else {
                next = ref(first.strip());
            }
            return;
        }
        csv = true;
        List<String> fields = Csv.split(first, lineNumber, name);
        for (int i = 0; i < fields.size(); i++) {
            if (S3Url.isS3Url(fields.get(i).strip())) {
                column = i; // no header: the first column of URLs
                next = ref(fields.get(i).strip());
                return;
            }
        }
        List<String> header = fields.stream().map(f -> f.strip().toLowerCase(Locale.ROOT)).toList();
        for (String wanted : COLUMN_NAMES) {
            int i = header.indexOf(wanted);
            if (i >= 0) {
                column = i;
                next = readNext();
                return;
            }
        }
        throw new ImgscaleException("Cannot tell which column of the CSV manifest " + name + " holds the images: its header is "
                + fields + "; name that column url or key (or put s3:// URLs in it).");
    }

    private ObjectRef readNext() {
        String line = line();
        if (line == null) {
            return null;
        }
        if (!csv) {
            return ref(line.strip());
        }
        List<String> fields = Csv.split(line, lineNumber, name);
        if (column >= fields.size() || fields.get(column).isBlank()) {
            throw new ImgscaleException("Line " + lineNumber + " of the manifest " + name + " has no value in column " + (column + 1) + ".");
        }
        return ref(fields.get(column).strip());
    }

    /** The next non-blank line, or null at the end. */
    private String line() {
        try {
            for (String line; (line = in.readLine()) != null; ) {
                lineNumber++;
                if (!line.isBlank()) {
                    return line;
                }
            }
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the manifest " + name + " (line " + lineNumber + "): " + e.getMessage(), e);
        }
    }

    private ObjectRef ref(String value) {
        try {
            if (S3Url.isS3Url(value)) {
                return S3Url.parse(value).object();
            }
            if (defaultBucket == null) {
                throw new IllegalArgumentException("'" + value + "' is a key without a bucket: write s3://BUCKET/" + value
                        + ", or give the bucket of bare keys.");
            }
            return new ObjectRef(defaultBucket, value.startsWith("/") ? value.substring(1) : value);
        } catch (IllegalArgumentException e) {
            throw new ImgscaleException("Line " + lineNumber + " of the manifest " + name + ": " + e.getMessage(), e);
        }
    }

    /** Splitting one CSV record (RFC 4180 quotes; a record spans one line). */
    static final class Csv {
        private Csv() {
        }

        static List<String> split(String line, int lineNumber, String name) {
            List<String> fields = new ArrayList<>();
            StringBuilder field = new StringBuilder();
            boolean quoted = false;
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (quoted) {
                    if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                        field.append('"');
                        i++;
                    } else if (c == '"') {
                        quoted = false;
                    } else {
                        field.append(c);
                    }
                } else if (c == '"') {
                    quoted = true;
                } else if (c == ',') {
                    fields.add(field.toString());
                    field.setLength(0);
                } else {
                    field.append(c);
                }
            }
            if (quoted) {
                throw new ImgscaleException("Line " + lineNumber + " of the manifest " + name + " has an unclosed quote.");
            }
            fields.add(field.toString());
            return fields;
        }
    }
}
