package dev.imgscale.daemon.web;

import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.MultipartParser;
import io.undertow.util.StatusCodes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the file parts of a multipart body as Undertow's {@link MultipartParser} hands them over,
 * and applies the limits as the bytes come, whatever the framing: a file over
 * {@link WebOptions#maxFileBytes()}, more than {@link WebOptions#maxFiles()} files or
 * {@value #MAX_OTHER_PARTS} other parts throw an {@link HttpError} 413 at once. (Undertow's own
 * {@code FormDataParser} stops at its parameter limit with a 400 first, hence this.)
 * Only the files of the wanted field are kept: small ones in memory, larger in a temporary file.
 */
final class MultipartCollector implements MultipartParser.PartHandler {
    /** Files up to this size stay in memory; larger ones go to a temporary file until the exchange ends. */
    static final int IN_MEMORY_BYTES = 256 * 1024;
    /** Text fields and files of other fields: a form has a few, a body made to tire the parser has thousands. */
    static final int MAX_OTHER_PARTS = 64;

    /** One file part as received: its name as the client sent it, its bytes in memory or in a temporary file. */
    record Part(String fileName, long size, byte[] bytes, Path file) {
    }

    private final WebOptions options;
    private final Path tempDir;
    private final String field;
    private final List<Part> files = new ArrayList<>();
    private final List<Path> created = new ArrayList<>();
    private int otherParts;
    private boolean textInField;

    private boolean keeping;
    private String fileName;
    private long size;
    private ByteArrayOutputStream memory;
    private Path file;
    private OutputStream out;

    /** @param field only this form field's files count, or null for every file field */
    MultipartCollector(WebOptions options, Path tempDir, String field) {
        this.options = options;
        this.tempDir = tempDir;
        this.field = field;
    }

    @Override
    public void beginPart(HeaderMap headers) {
        String disposition = headers.getFirst(Headers.CONTENT_DISPOSITION);
        String name = disposition == null ? null : Headers.extractQuotedValueFromHeader(disposition, "name");
        String fn = disposition == null ? null : Headers.extractQuotedValueFromHeaderWithEncoding(disposition, "filename");
        boolean wanted = field == null || field.equals(name);
        keeping = fn != null && wanted;
        size = 0;
        if (!keeping) {
            textInField |= wanted && fn == null;
            if (++otherParts > MAX_OTHER_PARTS) {
                throw new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "The request has more than " + MAX_OTHER_PARTS
                        + " parts that are not image files" + (field == null ? "" : " in the field '" + field + "'") + ".");
            }
            return;
        }
        if (files.size() >= options.maxFiles()) {
            throw new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "The request has more than " + options.maxFiles()
                    + " files, over the limit per request (--max-files); send them in several requests.");
        }
        fileName = fn.isBlank() ? "image" : fn;
        memory = new ByteArrayOutputStream();
    }

    @Override
    public void data(ByteBuffer buffer) throws IOException {
        size += buffer.remaining();
        if (!keeping) {
            buffer.position(buffer.limit());
            return;
        }
        if (size > options.maxFileBytes()) {
            throw new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "'" + fileName + "' is over the limit of " + options.maxFileBytes()
                    + " bytes per image (--max-file-mb).");
        }
        if (out == null && size > IN_MEMORY_BYTES) {
            file = Files.createTempFile(tempDir, "upload-", ".part");
            created.add(file);
            out = Files.newOutputStream(file);
            memory.writeTo(out);
            memory = null;
        }
        if (out != null) {
            if (buffer.hasArray()) {
                out.write(buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.remaining());
                buffer.position(buffer.limit());
            } else {
                byte[] chunk = new byte[buffer.remaining()];
                buffer.get(chunk);
                out.write(chunk);
            }
        } else {
            while (buffer.hasRemaining()) {
                memory.write(buffer.get());
            }
        }
    }

    @Override
    public void endPart() {
        if (!keeping) {
            return;
        }
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            files.add(new Part(fileName, size, null, file));
            out = null;
            file = null;
        } else {
            files.add(new Part(fileName, size, memory.toByteArray(), null));
            memory = null;
        }
        keeping = false;
    }

    List<Part> files() {
        return files;
    }

    /** Whether the wanted field held text rather than a file (for a clearer refusal). */
    boolean textInField() {
        return textInField;
    }

    /** Deletes the temporary files (the exchange ended, or the body was refused). */
    void discard() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // deleted next
            }
            out = null;
        }
        for (Path p : created) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // the server's temporary folder is deleted when it stops
            }
        }
        created.clear();
    }
}
