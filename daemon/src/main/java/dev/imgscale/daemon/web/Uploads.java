package dev.imgscale.daemon.web;

import dev.imgscale.classifier.decode.ImageFormat;
import dev.imgscale.classifier.decode.ImageHeaders;
import dev.imgscale.daemon.client.UploadItem;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import io.undertow.util.Headers;
import io.undertow.util.MalformedMessageException;
import io.undertow.util.MultipartParser;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.time.Clock;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import org.xnio.IoUtils;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * Reads multipart upload bodies without holding a thread while a client is slow: the request
 * channel's read listener hands each arrival to a worker thread, which parses what has come
 * ({@link MultipartCollector}) and returns; a client that sends nothing costs a connection and no
 * thread. The {@link UploadGate} bounds how many bodies each client has read at once and refuses
 * those too slow. Every refusal, mid-body included, is answered with its status and a JSON error
 * (text for {@code POST /}) before the server stops reading: it answers, then reads and drops what
 * the client still sends (at most as much again as the request limit, for at most
 * {@value #LINGER_MS} ms), so the client reads the answer instead of a reset connection. A refused
 * body leaves nothing: its temporary files are deleted and nothing was stored.
 */
final class Uploads {
    /** How long a refused request's connection stays open to drain what the client still sends. */
    static final long LINGER_MS = 10_000;
    /** A burst parses at most this much before letting other work have the thread. */
    private static final long BURST_BYTES = 1 << 20;
    private static final int SNIFF_BYTES = 16;

    /** One received image: its file name as the client sent it, and its bytes (in memory or in a temporary file). */
    record Received(String fileName, long size, byte[] bytes, Path file) {
        /** The image as an upload item under its name within the job. */
        UploadItem item(String name) {
            return bytes != null ? UploadItem.ofBytes(name, bytes) : new UploadItem(file, name, size);
        }
    }

    /** What to do with the checked files of a body; runs on a worker thread, may block. */
    interface FilesHandler {
        void handle(HttpServerExchange exchange, List<Received> files) throws Exception;
    }

    private final WebOptions options;
    private final Path tempDir;
    private final UploadGate gate;
    private final Clock clock;
    /** Refused exchanges still draining, with the time their connection is closed regardless. */
    private final Queue<Lingering> lingering = new ConcurrentLinkedQueue<>();

    private record Lingering(HttpServerExchange exchange, long closeAt) {
    }

    Uploads(WebOptions options, Path tempDir, UploadGate gate, Clock clock) {
        this.options = options;
        this.tempDir = tempDir;
        this.gate = gate;
        this.clock = clock;
    }

    /** Closes the connections of refused requests that drained for {@value #LINGER_MS} ms without ending (called with the gate's sweep). */
    void closeLingering() {
        long now = clock.millis();
        lingering.removeIf(l -> {
            if (l.exchange().isComplete()) {
                return true;
            }
            if (now >= l.closeAt()) {
                IoUtils.safeClose(l.exchange().getConnection());
                return true;
            }
            return false;
        });
    }

    /** Refused requests still draining. */
    int lingering() {
        return lingering.size();
    }

    /**
     * Reads the request's multipart body and hands its checked files to {@code handler}; or refuses
     * it (400 not multipart, 413 over a limit, 408 too slow, 429 too many at once from the client).
     *
     * @param field only this form field's files count, or null for every file field
     */
    void receive(HttpServerExchange exchange, String field, boolean api, FilesHandler handler) {
        String contentType = exchange.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            refuseUnread(exchange, new HttpError(StatusCodes.BAD_REQUEST, "Send the image" + (field == null ? "s" : "")
                    + " as multipart/form-data" + (field == null ? "" : " in the file field '" + field + "'") + " (curl -F "
                    + (field == null ? "files" : field) + "=@photo.jpg)."), api);
            return;
        }
        String boundary = Headers.extractQuotedValueFromHeader(contentType, "boundary");
        if (boundary == null || boundary.isEmpty()) {
            refuseUnread(exchange, new HttpError(StatusCodes.BAD_REQUEST, "The multipart body has no boundary: send it as"
                    + " multipart/form-data."), api);
            return;
        }
        long declared = exchange.getRequestContentLength();
        if (declared > options.maxRequestBytes()) {
            refuseUnread(exchange, tooLarge(declared), api);
            return;
        }
        // The limits are counted here, below the connection's (see connectionLimit): the connection's
        // own, once hit, closes it before an answer can go out (UT000020), the reset this class avoids.
        exchange.setMaxEntitySize(connectionLimit(options));
        Body body = new Body(exchange, field, api, handler, boundary);
        exchange.addExchangeCompleteListener((ex, next) -> {
            body.abandon();
            next.proceed();
        });
        // the exchange stays open when this handler returns; the gate starts the reading now or later
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> gate.admit(body.ticket));
    }

    /**
     * The server's own entity limit: the request limit, plus what a refused body may still send
     * while it is drained. (Undertow's chunked decoder takes it when the request starts.)
     */
    static long connectionLimit(WebOptions options) {
        return 2 * options.maxRequestBytes() + (1 << 20);
    }

    private HttpError tooLarge(long bytes) {
        return new HttpError(StatusCodes.REQUEST_ENTITY_TOO_LARGE, (bytes > 0 ? "The request has " + bytes + " bytes, over" : "The request"
                + " is over") + " the limit of " + options.maxRequestBytes() + " bytes (--max-request-mb); send fewer or smaller images"
                + " per request.");
    }

    /** Refuses a request whose body has not been read: answered now, then drained as after any refusal. */
    void refuseUnread(HttpServerExchange exchange, HttpError error, boolean api) {
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> answerAndLinger(exchange, error.status(), error.getMessage(), api,
                options.maxRequestBytes(), null));
    }

    /**
     * Answers with Connection: close, flushes the answer, then reads and drops the rest of the body
     * until it ends (then the exchange ends and the connection closes cleanly), fails, or
     * {@link #closeLingering} closes it. Runs on the exchange's IO thread.
     *
     * @param source the request channel if a body reader took it, else null
     */
    private void answerAndLinger(HttpServerExchange exchange, int status, String message, boolean api, long drainBytes,
                                 StreamSourceChannel source) {
        exchange.setPersistent(false);
        exchange.setStatusCode(status);
        byte[] bytes;
        if (Handlers.json(exchange, api)) {
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
            bytes = WebJson.MAPPER.createObjectNode().put("status", status).put("error", message).toString()
                    .getBytes(StandardCharsets.UTF_8);
        } else {
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
            bytes = (message + "\n").getBytes(StandardCharsets.UTF_8);
        }
        exchange.setResponseContentLength(bytes.length);
        StreamSinkChannel sink = exchange.getResponseChannel();
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        // the drain starts once the answer is out: its end ends the exchange, which must not cut the answer short
        Runnable drain = () -> drainChannel(exchange, source != null ? source : exchange.getRequestChannel(), drainBytes);
        try {
            if (!writeAll(sink, buffer)) {
                sink.getWriteSetter().set(c -> {
                    try {
                        if (writeAll(c, buffer)) {
                            c.suspendWrites();
                            drain.run();
                        }
                    } catch (IOException e) {
                        IoUtils.safeClose(exchange.getConnection());
                    }
                });
                sink.resumeWrites();
            } else {
                drain.run();
            }
        } catch (IOException e) {
            IoUtils.safeClose(exchange.getConnection());
            return;
        }
        if (!exchange.isComplete()) {
            lingering.add(new Lingering(exchange, clock.millis() + LINGER_MS));
        }
    }

    /** Writes what is left and flushes; false when the socket is full (call again when writable). */
    private static boolean writeAll(StreamSinkChannel sink, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (sink.write(buffer) == 0) {
                return false;
            }
        }
        return sink.flush();
    }

    /** Reads and drops up to {@code bound} more bytes; at the body's end the exchange ends, past the bound the connection closes. */
    private static void drainChannel(HttpServerExchange exchange, StreamSourceChannel source, long bound) {
        if (source == null) {
            exchange.endExchange(); // nothing left to read
            return;
        }
        ByteBuffer sink = ByteBuffer.allocate(8192);
        long[] left = {bound};
        org.xnio.ChannelListener<StreamSourceChannel> listener = c -> {
            try {
                while (true) {
                    sink.clear();
                    int n = c.read(sink);
                    if (n == -1) {
                        c.suspendReads();
                        exchange.endExchange();
                        return;
                    }
                    if (n == 0) {
                        return;
                    }
                    left[0] -= n;
                    if (left[0] < 0) {
                        IoUtils.safeClose(exchange.getConnection());
                        return;
                    }
                }
            } catch (IOException e) {
                // more than the drain allows, or the client went away
                IoUtils.safeClose(exchange.getConnection());
            }
        };
        source.getReadSetter().set(listener);
        listener.handleEvent(source);
        if (!exchange.isComplete() && source.isOpen()) {
            source.resumeReads();
        }
    }

    /** One body being received. Its reading and its refusal are serialised on the instance. */
    private final class Body implements UploadGate.Upload {
        final HttpServerExchange exchange;
        final boolean api;
        final FilesHandler handler;
        final MultipartCollector collector;
        final MultipartParser.ParseState parser;
        final String client;
        final UploadGate.Ticket ticket;
        StreamSourceChannel channel;
        long total;
        boolean finished;

        Body(HttpServerExchange exchange, String field, boolean api, FilesHandler handler, String boundary) {
            this.exchange = exchange;
            this.api = api;
            this.handler = handler;
            this.collector = new MultipartCollector(options, tempDir, field);
            this.parser = MultipartParser.beginParse(exchange.getConnection().getByteBufferPool(), collector,
                    boundary.getBytes(StandardCharsets.US_ASCII), "UTF-8");
            InetSocketAddress peer = exchange.getSourceAddress();
            this.client = peer == null || peer.getAddress() == null ? "unknown" : peer.getAddress().getHostAddress();
            this.ticket = gate.ticket(this);
        }

        @Override
        public String client() {
            return client;
        }

        @Override
        public void start() {
            exchange.getConnection().getWorker().execute(this::burst);
        }

        /** Reads and parses what has come, then returns; the read listener calls it again when more comes. */
        private synchronized void burst() {
            if (finished) {
                return;
            }
            if (channel == null) {
                channel = exchange.getRequestChannel();
                if (channel == null) {
                    fail(StatusCodes.INTERNAL_SERVER_ERROR, "The request body was already taken.");
                    return;
                }
            }
            Executor worker = exchange.getConnection().getWorker();
            try (PooledByteBuffer pooled = exchange.getConnection().getByteBufferPool().allocate()) {
                ByteBuffer buffer = pooled.getBuffer();
                long inBurst = 0;
                while (true) {
                    buffer.clear();
                    int n = channel.read(buffer);
                    if (n == 0) {
                        channel.getReadSetter().set(c -> {
                            c.suspendReads();
                            worker.execute(this::burst);
                        });
                        channel.resumeReads();
                        return;
                    }
                    if (n == -1) {
                        complete();
                        return;
                    }
                    total += n;
                    gate.received(ticket, n);
                    if (total > options.maxRequestBytes()) {
                        throw tooLarge(-1);
                    }
                    buffer.flip();
                    parser.parse(buffer);
                    inBurst += n;
                    if (inBurst >= BURST_BYTES) {
                        worker.execute(this::burst);
                        return;
                    }
                }
            } catch (HttpError e) {
                fail(e.status(), e.getMessage());
            } catch (RequestTooBigException e) {
                fail(StatusCodes.REQUEST_ENTITY_TOO_LARGE, tooLarge(-1).getMessage());
            } catch (MalformedMessageException e) {
                fail(StatusCodes.BAD_REQUEST, "The multipart body could not be read (malformed part headers).");
            } catch (IOException | RuntimeException e) {
                // the client went away mid-body (or the disk failed): nothing to answer on a broken connection
                finished = true;
                collector.discard();
                gate.done(ticket);
                IoUtils.safeClose(exchange.getConnection());
            }
        }

        private void complete() {
            finished = true;
            gate.done(ticket);
            if (!parser.isComplete()) {
                StreamSourceChannel atEnd = channel;
                exchange.getIoThread().execute(() -> answerAndLinger(exchange, StatusCodes.BAD_REQUEST,
                        "The body ended before the end of the multipart data.", api, 0, atEnd));
                return;
            }
            List<Received> files;
            try {
                files = check(collector);
            } catch (HttpError e) {
                Handlers.answer(exchange, e.status(), e.getMessage(), api);
                return;
            }
            exchange.dispatch(exchange.getConnection().getWorker(),
                    Handlers.blocking(ex -> handler.handle(ex, files), api));
        }

        /** The exchange ended (answered, or its connection closed): its temporary files go, its slot is free. */
        synchronized void abandon() {
            finished = true;
            collector.discard();
            gate.done(ticket);
        }

        @Override
        public void refuse(int status, String message) {
            exchange.getIoThread().execute(() -> fail(status, message));
        }

        /** Refuses the body: nothing of it is kept, the answer goes out, and the rest of the body is drained. */
        private synchronized void fail(int status, String message) {
            if (finished) {
                return;
            }
            finished = true;
            collector.discard();
            gate.done(ticket);
            if (channel != null) {
                channel.getReadSetter().set(null);
                channel.suspendReads();
            }
            StreamSourceChannel taken = channel;
            Runnable refusal = () -> answerAndLinger(exchange, status, message, api, options.maxRequestBytes(), taken);
            if (exchange.isInIoThread()) {
                refusal.run();
            } else {
                exchange.getIoThread().execute(refusal);
            }
        }
    }

    /** The wanted files of a complete body, each checked: not empty, an image format a worker decodes (by its bytes). */
    private List<Received> check(MultipartCollector collector) {
        List<MultipartCollector.Part> parts = collector.files();
        if (parts.isEmpty()) {
            throw new HttpError(StatusCodes.BAD_REQUEST, "The request has no image file" + (collector.textInField()
                    ? " (the field holds text, not a file)" : "") + ": send the images as file fields of a multipart body,"
                    + " e.g. curl -F myfile=@photo.jpg.");
        }
        List<Received> out = new ArrayList<>(parts.size());
        for (MultipartCollector.Part p : parts) {
            if (p.size() == 0) {
                throw new HttpError(StatusCodes.BAD_REQUEST, "'" + p.fileName() + "' is empty: send the image's bytes.");
            }
            byte[] head;
            if (p.bytes() != null) {
                head = Arrays.copyOf(p.bytes(), Math.min(p.bytes().length, SNIFF_BYTES));
            } else {
                try (InputStream in = Files.newInputStream(p.file())) {
                    head = in.readNBytes(SNIFF_BYTES);
                } catch (IOException e) {
                    throw new HttpError(StatusCodes.INTERNAL_SERVER_ERROR, "Could not read the upload of '" + p.fileName() + "': " + e);
                }
            }
            ImageFormat format = ImageHeaders.sniff(head);
            if (format == ImageFormat.UNKNOWN || format == ImageFormat.GIF) {
                throw new HttpError(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "'" + p.fileName() + "' is not an image imgscale reads"
                        + (format == ImageFormat.GIF ? " (GIF is not supported)" : "") + ": send JPEG, PNG, BMP, WebP, TIFF or PNM.");
            }
            out.add(new Received(p.fileName(), p.size(), p.bytes(), p.file()));
        }
        return out;
    }
}
