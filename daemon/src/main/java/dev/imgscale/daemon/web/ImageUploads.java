package dev.imgscale.daemon.web;

import dev.imgscale.classifier.decode.ImageFormat;
import dev.imgscale.classifier.decode.ImageHeaders;
import dev.imgscale.daemon.client.UploadItem;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import io.undertow.server.handlers.form.FormData;
import io.undertow.server.handlers.form.FormDataParser;
import io.undertow.server.handlers.form.MultiPartParserDefinition;
import io.undertow.util.Headers;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Reads the images of one multipart request and checks all of them before anything is stored: the
 * request and each file within their size limits, at most so many files, and each file an image
 * format a worker decodes (by its magic bytes, never its name). A request that fails any check is
 * refused as a whole with an {@link HttpError}.
 */
final class ImageUploads {
    /** Files up to this size stay in memory; larger ones go to a temporary file until the exchange ends. */
    static final long IN_MEMORY_BYTES = 256 * 1024;
    private static final int SNIFF_BYTES = 16;

    /** One received image: its file name as the client sent it, and its bytes (in memory or in a temporary file). */
    record Received(String fileName, long size, byte[] bytes, Path file) {
        /** The image as an upload item under its name within the job. */
        UploadItem item(String name) {
            return bytes != null ? UploadItem.ofBytes(name, bytes) : new UploadItem(file, name, size);
        }
    }

    private ImageUploads() {
    }

    /**
     * The checked images of the request, in the order sent. Blocking: call it on a worker thread.
     *
     * @param field only this form field's files count, or null for every file field
     * @throws HttpError 400 for no file or a malformed body, 413 for a file or request too large or
     *     too many files, 415 for a file that is not an image
     */
    static List<Received> read(HttpServerExchange exchange, WebOptions options, Path tempDir, String field) {
        String contentType = exchange.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith(MultiPartParserDefinition.MULTIPART_FORM_DATA)) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "Send the image" + (field == null ? "s" : "") + " as multipart/form-data"
                    + (field == null ? "" : " in the file field '" + field + "'") + " (curl -F " + (field == null ? "files" : field)
                    + "=@photo.jpg).");
        }
        long declared = exchange.getRequestContentLength();
        if (declared > options.maxRequestBytes()) {
            if (declared <= 2 * options.maxRequestBytes()) {
                drain(exchange, declared);
            }
            throw new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "The request has " + declared + " bytes, over the limit of "
                    + options.maxRequestBytes() + " bytes (--max-request-mb); send fewer or smaller images per request.");
        }
        exchange.setMaxEntitySize(options.maxRequestBytes());
        MultiPartParserDefinition definition = new MultiPartParserDefinition(tempDir);
        definition.setDefaultEncoding("UTF-8");
        definition.setMaxIndividualFileSize(options.maxFileBytes());
        definition.setFileSizeThreshold(IN_MEMORY_BYTES);
        FormDataParser parser = definition.create(exchange);
        if (parser == null) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "The multipart body has no boundary: send it as multipart/form-data.");
        }
        FormData data;
        try {
            data = parser.parseBlocking();
        } catch (IOException | RuntimeException e) {
            throw refusal(exchange, options, e);
        }
        List<FormData.FormValue> files = new ArrayList<>();
        boolean textInField = false;
        for (String name : data) {
            if (field != null && !field.equals(name)) {
                continue;
            }
            for (FormData.FormValue value : data.get(name)) {
                if (value.isFileItem()) {
                    files.add(value);
                } else {
                    textInField = true;
                }
            }
        }
        if (files.isEmpty()) {
            throw new HttpError(StatusCodes.BAD_REQUEST, field == null
                    ? "The request has no file: add the images as file fields of the multipart body."
                    : "The request has no file in the field '" + field + "'" + (textInField ? " (it holds text, not a file)" : "")
                            + ": send the image as multipart/form-data, e.g. curl -F " + field + "=@photo.jpg.");
        }
        if (files.size() > options.maxFiles()) {
            throw new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "The request has " + files.size() + " files, over the limit of "
                    + options.maxFiles() + " per request (--max-files); send them in several requests.");
        }
        List<Received> received = new ArrayList<>(files.size());
        for (FormData.FormValue value : files) {
            received.add(check(value));
        }
        return received;
    }

    private static Received check(FormData.FormValue value) {
        String fileName = value.getFileName() == null || value.getFileName().isBlank() ? "image" : value.getFileName();
        FormData.FileItem item = value.getFileItem();
        try {
            long size = item.getFileSize();
            if (size == 0) {
                throw new HttpError(StatusCodes.BAD_REQUEST, "'" + fileName + "' is empty: send the image's bytes.");
            }
            byte[] head;
            byte[] bytes = null;
            if (item.isInMemory()) {
                try (InputStream in = item.getInputStream()) {
                    bytes = in.readAllBytes();
                }
                head = Arrays.copyOf(bytes, Math.min(bytes.length, SNIFF_BYTES));
            } else {
                try (InputStream in = item.getInputStream()) {
                    head = in.readNBytes(SNIFF_BYTES);
                }
            }
            ImageFormat format = ImageHeaders.sniff(head);
            if (format == ImageFormat.UNKNOWN || format == ImageFormat.GIF) {
                throw new HttpError(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "'" + fileName + "' is not an image imgscale reads"
                        + (format == ImageFormat.GIF ? " (GIF is not supported)" : "") + ": send JPEG, PNG, BMP, WebP, TIFF or PNM.");
            }
            return new Received(fileName, size, bytes, bytes == null ? item.getFile() : null);
        } catch (IOException e) {
            throw new HttpError(StatusCodes.INTERNAL_SERVER_ERROR, "Could not read the upload of '" + fileName + "': " + e.getMessage());
        }
    }

    /** The refusal for a body the parser gave up on. */
    private static HttpError refusal(HttpServerExchange exchange, WebOptions options, Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MultiPartParserDefinition.FileTooLargeException) {
                // The rest of the body is read and dropped (it is within the request limit) so that
                // the client, still sending, reads the answer instead of a reset connection.
                drain(exchange, options.maxRequestBytes());
                return new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "A file is over the limit of " + options.maxFileBytes()
                        + " bytes per image (--max-file-mb).");
            }
            if (t instanceof RequestTooBigException) {
                return new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "The request is over the limit of " + options.maxRequestBytes()
                        + " bytes (--max-request-mb); send fewer or smaller images per request.");
            }
        }
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (message.toLowerCase(Locale.ROOT).contains("too many")) {
            return new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, "The request has too many parts (limit "
                    + options.maxFiles() + " files, --max-files).");
        }
        return new HttpError(StatusCodes.BAD_REQUEST, "The multipart body could not be read (" + message + ").");
    }

    /**
     * Reads and drops what is left of the body, up to {@code limit} bytes. A client that sends its
     * whole body before reading the answer (most do, without Expect: 100-continue) would otherwise
     * see the connection reset instead of the 413 that says why.
     */
    private static void drain(HttpServerExchange exchange, long limit) {
        if (exchange.isRequestComplete()) {
            return;
        }
        try {
            exchange.setMaxEntitySize(limit);
        } catch (IllegalStateException alreadyReading) {
            // the limit set before parsing stays, and bounds the drain as well
        }
        if (!exchange.isBlocking()) {
            exchange.startBlocking();
        }
        byte[] sink = new byte[64 * 1024];
        long left = limit;
        try (InputStream in = exchange.getInputStream()) {
            int n;
            while (left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0) {
                left -= n;
            }
        } catch (IOException e) {
            // the client went away, or sent more than it declared: the connection closes after the answer
        }
    }
}
