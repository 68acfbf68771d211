package dev.imgscale.cli;

import static dev.imgscale.cli.MultipartBody.multipart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.TestAssets;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.web.UploadPolicy;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.web.WebOptions;
import dev.imgscale.daemon.web.WebServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code imgscale serve} against slow and hostile clients, on the real server over the embedded
 * stack (no worker needed): bodies that trickle or stall, many parts, an oversized chunked body, a
 * Unicode name through the headers, too many uploads at once from one address. Every refusal has
 * its status and a JSON error, and leaves nothing in the stack.
 */
class ServeHostileClientsIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final long MAX_FILE = 2L << 20;
    static final long MAX_REQUEST = 4L << 20;

    @TempDir
    static java.nio.file.Path dir;

    static LocalPipeline pipeline;
    static StackContext stack;
    static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        pipeline = LocalPipeline.start(dir, Map.of());
        stack = StackOpener.open(new StackOpener.Request(Map.of(), true, null, pipeline.env));
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (stack != null) {
            stack.close();
        }
        if (pipeline != null) {
            pipeline.close();
        }
    }

    static WebServer serve(WebOptions options) {
        return WebServer.start(stack, options.withBind("127.0.0.1:0"), Time.system());
    }

    static WebOptions limits() {
        return WebOptions.defaults().withLimits(MAX_FILE, MAX_REQUEST, WebOptions.DEFAULT_MAX_FILES);
    }

    static byte[] image(String name) throws IOException {
        return Files.readAllBytes(TestAssets.images().resolve(name));
    }

    /** A raw connection from a chosen loopback address (the server counts uploads per client address). */
    static Socket connect(WebServer server, String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(server.address(), 10_000);
        s.setSoTimeout(60_000);
        return s;
    }

    static String head(String path, String contentType, String framing) {
        return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + contentType + "\r\n" + framing + "\r\n";
    }

    /** Reads one response (status line, headers, a Content-Length body) from the socket. */
    static String[] readResponse(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream headBytes = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed before a response: " + headBytes);
            }
            headBytes.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String headText = headBytes.toString(StandardCharsets.ISO_8859_1);
        int length = 0;
        for (String line : headText.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
        return new String[] {headText, body};
    }

    static HttpResponse<String> send(HttpRequest r) throws Exception {
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    static HttpRequest.Builder request(WebServer s, String path) {
        return HttpRequest.newBuilder(s.uri().resolve(path)).timeout(Duration.ofSeconds(60));
    }

    static HttpRequest post(WebServer s, String path, MultipartBody body) {
        return body.into(request(s, path)).build();
    }

    static JsonNode status(WebServer s) throws Exception {
        return JSON.readTree(send(request(s, "/api/status").GET().build()).body());
    }

    /** Waits (bounded) until the server's counter reaches the value; the status is cached a second. */
    static void awaitCounter(WebServer s, String counter, int value) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        JsonNode st = status(s);
        while (st.at("/server/" + counter).asInt() != value) {
            assertTrue(System.nanoTime() < deadline, counter + " never reached " + value + ": " + st);
            Thread.sleep(200);
            st = status(s);
        }
    }

    static void assertJsonError(int status, String[] response, String mentions) throws IOException {
        assertTrue(response[0].startsWith("HTTP/1.1 " + status + " "), response[0] + response[1]);
        JsonNode error = JSON.readTree(response[1]);
        assertEquals(status, error.get("status").asInt(), response[1]);
        assertTrue(error.get("error").asText().contains(mentions), response[1]);
    }

    @Test
    void should_answer_a_normal_client_while_200_connections_trickle_upload_bodies() throws Exception {
        try (WebServer server = serve(limits())) {
            MultipartBody normal = multipart("files", "parrot.jpg", image("parrot.jpg"));
            // warm: the first requests of a fresh server load classes and open SDK connections
            assertEquals(201, send(post(server, "/api/jobs", normal)).statusCode());
            assertEquals(200, send(request(server, "/api/status").GET().build()).statusCode());
            TreeSet<String> before = new TreeSet<>(stack.input().list(""));

            int n = 200;
            List<Socket> slow = new ArrayList<>();
            byte[] body = multipart("files", "slow.jpg", Arrays.copyOf(image("owl.jpg"), 200_000)).bytes();
            String type = multipart(List.of()).contentType(); // any boundary: the body never gets that far
            try {
                for (int i = 0; i < n; i++) {
                    // one address each, so the per-client limit does not hold them back: 200 clients
                    Socket s = connect(server, "127.0.1." + (i + 1));
                    slow.add(s);
                    OutputStream out = s.getOutputStream();
                    out.write(head("/api/jobs", type, "Content-Length: " + body.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body, 0, 10);
                    out.flush();
                }
                awaitCounter(server, "uploading", n);
                // they trickle 10 bytes each every 200 ms while the normal client is served
                Thread trickler = new Thread(() -> {
                    int sent = 10;
                    while (!Thread.currentThread().isInterrupted()) {
                        for (Socket s : slow) {
                            try {
                                s.getOutputStream().write(body, sent, 10);
                            } catch (IOException e) {
                                // the server may not close them: if it does, the assertions below say so
                            }
                        }
                        sent += 10;
                        try {
                            Thread.sleep(200);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "trickler");
                trickler.setDaemon(true);
                trickler.start();
                long[] statusMs = new long[5];
                long[] postMs = new long[5];
                for (int i = 0; i < 5; i++) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> st = send(request(server, "/api/status").GET().build());
                    statusMs[i] = (System.nanoTime() - t0) / 1_000_000;
                    assertEquals(200, st.statusCode(), st.body());
                    t0 = System.nanoTime();
                    HttpResponse<String> created = send(post(server, "/api/jobs", normal));
                    postMs[i] = (System.nanoTime() - t0) / 1_000_000;
                    assertEquals(201, created.statusCode(), created.body());
                    Thread.sleep(300);
                }
                JsonNode st = status(server);
                trickler.interrupt();
                System.out.printf(Locale.ROOT, "serve: with %d connections trickling upload bodies: GET /api/status %s ms, small POST"
                        + " /api/jobs (one image) %s ms; bodies being read %d%n", n, Arrays.toString(statusMs), Arrays.toString(postMs),
                        st.at("/server/uploading").asInt());
                assertEquals(n, st.at("/server/uploading").asInt(), "the slow bodies are still being read: " + st);
                // a liveness bound, not a timing claim: before the fix these waited until the slow clients left
                assertTrue(Arrays.stream(statusMs).max().getAsLong() < 10_000 && Arrays.stream(postMs).max().getAsLong() < 10_000);
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
            awaitCounter(server, "uploading", 0);
            // what the normal client created is there (5 jobs of parrot.jpg); of the slow bodies, nothing
            TreeSet<String> added = new TreeSet<>(stack.input().list(""));
            added.removeAll(before);
            assertEquals(5, added.size(), added.toString());
            // each job's one image, packed as `upload` packs files: a shard whose one member is parrot.jpg
            for (String key : added) {
                assertTrue(key.startsWith("shards/") && key.endsWith("/00000.tar"), added.toString());
                byte[] tar = stack.input().get(key).orElseThrow();
                assertEquals("parrot.jpg", new String(tar, 0, 100, java.nio.charset.StandardCharsets.US_ASCII).split("\0")[0], key);
            }
        }
    }

    @Test
    void should_answer_408_to_a_body_that_stalls_or_crawls_and_keep_nothing_of_it() throws Exception {
        try (WebServer server = serve(limits().withUploads(new UploadPolicy(Duration.ofSeconds(1), 1024, 8)))) {
            String before = StackSnapshot.of(stack);
            MultipartBody body = multipart("files", "owl.jpg", image("owl.jpg"));
            // stalls: half the body, then nothing
            try (Socket s = connect(server, "127.0.0.1")) {
                s.getOutputStream().write(head("/api/jobs", body.contentType(), "Content-Length: " + body.bytes().length + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().write(body.bytes(), 0, body.bytes().length / 2);
                assertJsonError(408, readResponse(s), "--upload-idle-timeout");
            }
            // crawls: 20 bytes every 100 ms, never idle but far under 1 KiB/s
            try (Socket s = connect(server, "127.0.0.1")) {
                s.getOutputStream().write(head("/", body.contentType(), "Transfer-Encoding: chunked\r\n").getBytes(StandardCharsets.US_ASCII));
                CompletableFuture<String[]> answer = CompletableFuture.supplyAsync(() -> {
                    try {
                        return readResponse(s);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                for (int off = 0; off < body.bytes().length && !answer.isDone(); off += 20) {
                    try {
                        s.getOutputStream().write(("14\r\n" + new String(body.bytes(), off, 20, StandardCharsets.ISO_8859_1) + "\r\n")
                                .getBytes(StandardCharsets.ISO_8859_1));
                    } catch (IOException e) {
                        break;
                    }
                    Thread.sleep(100);
                }
                String[] r = answer.get(30, TimeUnit.SECONDS);
                assertTrue(r[0].startsWith("HTTP/1.1 408 "), r[0] + r[1]);
                assertTrue(r[1].contains("--min-upload-rate"), r[1]);
            }
            assertEquals(before, StackSnapshot.of(stack), "a timed-out body stores, writes and queues nothing");
            JsonNode st = status(server);
            assertEquals(2, st.at("/server/uploadsTimedOut").asInt(), st.toString());
        }
    }

    @Test
    void should_return_a_unicode_file_name_through_the_image_header_percent_encoded() throws Exception {
        String name = "鳥 été 🦜+1.jpg";
        // no worker runs here: the answer is 504 at once, with the headers that name the image
        try (WebServer server = serve(limits().withResultTimeout(Duration.ofMillis(1)))) {
            HttpResponse<String> r = send(post(server, "/", multipart("myfile", name, image("parrot.jpg"))));
            assertEquals(504, r.statusCode(), r.body());
            String header = r.headers().firstValue("X-Imgscale-Image").orElseThrow();
            assertTrue(header.chars().allMatch(c -> c > 32 && c < 127), "ASCII only: " + header);
            assertEquals(name, URLDecoder.decode(header, StandardCharsets.UTF_8), header);
            String job = r.headers().firstValue("X-Imgscale-Job").orElseThrow();
            assertTrue(stack.input().list("input/" + job + "/").stream().anyMatch(k -> k.endsWith("/" + name)), "stored under its name");
            System.out.println("serve: X-Imgscale-Image for '" + name + "': " + header);
        }
    }

    @Test
    void should_answer_413_with_a_json_error_to_5000_parts() throws Exception {
        try (WebServer server = serve(limits())) {
            String before = StackSnapshot.of(stack);
            byte[] jpegHead = Arrays.copyOf(image("parrot.jpg"), 64);
            List<Object[]> files = new ArrayList<>();
            List<Object[]> fields = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                files.add(new Object[] {"files", "p" + i + ".jpg", jpegHead});
                fields.add(new Object[] {"note" + i, null, "x".getBytes(StandardCharsets.UTF_8)});
            }
            HttpResponse<String> many = send(post(server, "/api/jobs", multipart(files)));
            assertEquals(413, many.statusCode(), many.body());
            assertTrue(JSON.readTree(many.body()).get("error").asText().contains("--max-files"), many.body());
            HttpResponse<String> text = send(post(server, "/api/jobs", multipart(fields)));
            assertEquals(413, text.statusCode(), text.body());
            assertEquals(413, JSON.readTree(text.body()).get("status").asInt(), text.body());
            // POST / answers a line of text, as the course's tools print it, or JSON to a client that asks for it
            List<Object[]> images = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                images.add(new Object[] {"myfile", "p" + i + ".jpg", jpegHead});
            }
            MultipartBody course = multipart(images);
            HttpResponse<String> line = send(post(server, "/", course));
            assertEquals(413, line.statusCode(), line.body());
            assertTrue(line.body().contains("--max-files") && !line.body().startsWith("{"), line.body());
            HttpResponse<String> asked = send(course.into(request(server, "/").header("Accept", "application/json")).build());
            assertEquals(413, asked.statusCode(), asked.body());
            assertTrue(JSON.readTree(asked.body()).get("error").asText().contains("--max-files"), asked.body());
            assertEquals(before, StackSnapshot.of(stack), "a refused request stores nothing");
        }
    }

    @Test
    void should_refuse_upload_options_that_make_no_sense_before_serving() {
        for (String[] bad : List.of(new String[] {"--uploads-per-client", "0"}, new String[] {"--upload-idle-timeout", "0"},
                new String[] {"--min-upload-rate", "-1"})) {
            CliRun run = pipeline.run("serve", "--local", "--bind", "127.0.0.1:0", bad[0], bad[1]);
            assertEquals(ExitCodes.FAILURE, run.exitCode(), run.evidence());
            assertTrue(run.err().contains(bad[0]), run.evidence());
        }
    }

    @Test
    void should_answer_400_to_a_body_that_ends_inside_the_multipart_data() throws Exception {
        try (WebServer server = serve(limits())) {
            String before = StackSnapshot.of(stack);
            MultipartBody whole = multipart("files", "owl.jpg", image("owl.jpg"));
            byte[] cut = Arrays.copyOf(whole.bytes(), whole.bytes().length - 40); // no closing boundary
            HttpResponse<String> r = send(request(server, "/api/jobs").header("Content-Type", whole.contentType())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(cut)).build());
            assertEquals(400, r.statusCode(), r.body());
            assertTrue(JSON.readTree(r.body()).get("error").asText().contains("ended before"), r.body());
            assertEquals(before, StackSnapshot.of(stack));
        }
    }

    @Test
    void should_answer_413_to_an_oversized_chunked_body_before_it_stops_reading() throws Exception {
        try (WebServer server = serve(limits())) {
            String before = StackSnapshot.of(stack);
            byte[] big = Arrays.copyOf(image("parrot.jpg"), (int) MAX_FILE - 1000);
            MultipartBody body = multipart(List.of(new Object[] {"files", "a.jpg", big}, new Object[] {"files", "b.jpg", big},
                    new Object[] {"files", "c.jpg", big}));
            assertTrue(body.bytes().length > MAX_REQUEST);
            try (Socket s = connect(server, "127.0.0.1")) {
                OutputStream out = s.getOutputStream();
                out.write(head("/api/jobs", body.contentType(), "Transfer-Encoding: chunked\r\n").getBytes(StandardCharsets.US_ASCII));
                // the client sends it all before it reads, as most do; a reset would fail the write or the read
                CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
                    try {
                        for (int off = 0; off < body.bytes().length; off += 65536) {
                            int len = Math.min(65536, body.bytes().length - off);
                            out.write((Integer.toHexString(len) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                            out.write(body.bytes(), off, len);
                            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                        }
                        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                sending.get(60, TimeUnit.SECONDS);
                assertJsonError(413, readResponse(s), "--max-request-mb");
                assertEquals(-1, s.getInputStream().read(), "then the server closes the connection cleanly");
            }
            // curl's way, with Expect: 100-continue and no length: the same answer
            HttpResponse<String> viaClient = http.send(request(server, "/api/jobs").expectContinue(true)
                    .header("Content-Type", body.contentType())
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body.bytes()))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(413, viaClient.statusCode(), viaClient.body());
            assertEquals(before, StackSnapshot.of(stack), "a refused request stores nothing");
        }
    }

    @Test
    void should_read_a_clients_uploads_a_few_at_a_time_and_the_rest_in_turn() throws Exception {
        try (WebServer server = serve(limits().withUploads(new UploadPolicy(Duration.ofSeconds(60), 0, 2)))) {
            MultipartBody body = multipart("files", "owl.jpg", image("owl.jpg"));
            String framing = "Content-Length: " + body.bytes().length + "\r\n";
            List<Socket> holding = new ArrayList<>();
            try (Socket third = connect(server, "127.0.2.1")) {
                for (int i = 0; i < 2; i++) {
                    Socket s = connect(server, "127.0.2.1");
                    holding.add(s);
                    s.getOutputStream().write(head("/api/jobs", body.contentType(), framing).getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().write(body.bytes(), 0, 100);
                }
                awaitCounter(server, "uploading", 2);
                third.getOutputStream().write(head("/api/jobs", body.contentType(), framing).getBytes(StandardCharsets.US_ASCII));
                third.getOutputStream().write(body.bytes());
                awaitCounter(server, "uploadsWaiting", 1);
                // another address is not held back by this one's
                assertEquals(201, send(post(server, "/api/jobs", body)).statusCode());
                for (Socket s : holding) {
                    s.close();
                }
                String[] r = readResponse(third);
                assertTrue(r[0].startsWith("HTTP/1.1 201 "), r[0] + r[1]);
            } finally {
                for (Socket s : holding) {
                    s.close();
                }
            }
        }
    }
}
