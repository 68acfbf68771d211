package dev.imgscale.cli;

import static dev.imgscale.cli.MultipartBody.multipart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.TestAssets;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.web.WebOptions;
import dev.imgscale.daemon.web.WebServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code imgscale serve} on the embedded stack with two real worker processes: 100 concurrent
 * compatibility POSTs, the JSON API and its event stream, and the requests it must refuse without
 * leaving anything behind.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServeIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final long MAX_FILE = 2L << 20;
    static final long MAX_REQUEST = 4L << 20;
    static final String TOKEN = "test-token-0123456789";

    @TempDir
    static java.nio.file.Path dir;

    static LocalPipeline pipeline;
    static StackContext stack;
    static WebServer server;
    static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        pipeline = LocalPipeline.start(dir, Map.of());
        // two workers share this machine's two cores: one inference thread each
        List<Process> workers = List.of(pipeline.worker("--idle-exit", "600", "--threads", "1"),
                pipeline.worker("--idle-exit", "600", "--threads", "1"));
        stack = StackOpener.open(new StackOpener.Request(Map.of(), true, null, pipeline.env));
        server = WebServer.start(stack, WebOptions.defaults().withBind("127.0.0.1:0").withLimits(MAX_FILE, MAX_REQUEST, 20)
                .withResultTimeout(Duration.ofSeconds(120)), Time.system());
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        // the figures are the server's and the warm workers', not the workers' start-up
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        for (int i = 0; i < 2; i++) {
            while (!pipeline.workerLog(i).contains("polling")) {
                assertTrue(workers.get(i).isAlive() && System.nanoTime() < deadline, "worker " + i + " did not start:\n"
                        + pipeline.workerLog(i));
                Thread.sleep(100);
            }
        }
    }

    /** Batches and images each worker handled, from its log. */
    static String workerSummary() throws java.io.IOException {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 2; i++) {
            List<String> batches = pipeline.workerLog(i).lines().filter(l -> l.contains(" Batch ")).toList();
            int images = batches.stream().mapToInt(l -> Integer.parseInt(l.replaceAll(".* Batch \\d+: (\\d+) images.*", "$1"))).sum();
            out.append(" worker ").append(i).append(": ").append(images).append(" images in ").append(batches.size()).append(" batches;");
        }
        return out.toString();
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (stack != null) {
            stack.close();
        }
        if (pipeline != null) {
            pipeline.close();
        }
    }

    // ---- helpers ----

    static HttpRequest.Builder request(WebServer s, String path) {
        return HttpRequest.newBuilder(s.uri().resolve(path)).timeout(Duration.ofSeconds(180));
    }

    static HttpResponse<String> send(HttpRequest r) throws Exception {
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    static String show(HttpResponse<String> r) {
        return r.request().method() + " " + r.request().uri() + " -> " + r.statusCode() + " " + r.headers().map() + "\n" + r.body();
    }

    static byte[] image(String name) throws Exception {
        return Files.readAllBytes(TestAssets.images().resolve(name));
    }

    // ---- tests ----

    @Test
    @Order(1)
    void should_answer_100_concurrent_posts_each_with_its_images_name_and_label() throws Exception {
        List<String[]> expected = TestAssets.expected();
        int n = 100;
        List<MultipartBody> bodies = new ArrayList<>();
        List<String[]> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String[] row = expected.get(i % expected.size());
            rows.add(row);
            bodies.add(multipart("myfile", row[0], image(row[0])));
        }
        long[] sent = new long[n];
        long[] answered = new long[n];
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            int k = i;
            sent[k] = System.nanoTime();
            futures.add(http.sendAsync(bodies.get(k).into(request(server, "/")).build(), HttpResponse.BodyHandlers.ofString())
                    .whenComplete((r, e) -> answered[k] = System.nanoTime()));
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(180, TimeUnit.SECONDS);
        long wall = System.nanoTime() - t0;

        String job = null;
        Map<String, Long> answeredAtMillis = new HashMap<>();
        long epochOffset = System.currentTimeMillis() - System.nanoTime() / 1_000_000;
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = futures.get(i).get();
            String[] row = rows.get(i);
            String stem = ImageNames.shortName(row[0]);
            assertEquals(200, r.statusCode(), "request " + i + " (" + row[0] + ")\n" + show(r));
            assertTrue(r.body().startsWith("(" + stem + ", ") && r.body().endsWith(")\n"), show(r));
            if (Double.parseDouble(row[2]) >= 0.5) {
                assertEquals("(" + stem + ", " + row[1] + ")\n", r.body(), "request " + i + "\n" + show(r));
            }
            String j = r.headers().firstValue("X-Imgscale-Job").orElseThrow();
            job = job == null ? j : job;
            assertEquals(job, j, "the posts share one job");
            answeredAtMillis.put(r.headers().firstValue("X-Imgscale-Image").orElseThrow(), epochOffset + answered[i] / 1_000_000);
        }
        long[] latencies = new long[n];
        for (int i = 0; i < n; i++) {
            latencies[i] = (answered[i] - sent[i]) / 1_000_000;
        }
        Arrays.sort(latencies);

        // "as soon as its own result exists": from the result object's time to the answer
        JobClient client = new JobClient(stack, Clock.systemUTC());
        List<ResultRecord> results = client.results(job);
        assertEquals(n, results.size(), "one result per post in job " + job);
        long[] lags = new long[n];
        for (int i = 0; i < n; i++) {
            ResultRecord r = results.get(i);
            lags[i] = answeredAtMillis.get(r.name()) - r.finishedAt();
        }
        Arrays.sort(lags);
        JsonNode status = JSON.readTree(send(request(server, "/api/status").build()).body());
        System.out.printf(Locale.ROOT, "serve: %d concurrent POST / (2 workers): wall %.1f s, latency p50 %d ms, p95 %d ms, max %d ms;"
                        + " result-to-answer p50 %d ms, p95 %d ms, max %d ms; %d manifest commits for %d images, %d S3 listings%n",
                n, wall / 1e9, latencies[n / 2], latencies[(int) Math.ceil(n * 0.95) - 1], latencies[n - 1],
                lags[n / 2], lags[(int) Math.ceil(n * 0.95) - 1], lags[n - 1],
                status.at("/server/commits").asLong(), status.at("/server/committedImages").asLong(), status.at("/server/lists").asLong());
        System.out.println("serve:" + workerSummary());
        assertTrue(lags[(int) Math.ceil(n * 0.95) - 1] < 3000, "answers follow their results closely: " + Arrays.toString(lags));
        assertTrue(status.at("/server/commits").asLong() <= n, status.toString());

        // the shared job is an ordinary job: `imgscale results` reads it
        CliRun course = pipeline.run("results", "--local", "--job", job, "--output", "course");
        assertEquals(0, course.exitCode(), course.evidence());
        assertEquals(n, course.out().lines().count(), course.evidence());
    }

    @Test
    @Order(2)
    void should_refuse_bad_requests_with_their_4xx_and_leave_nothing_behind() throws Exception {
        String before = StackSnapshot.of(stack);
        Map<String, Integer> cases = new java.util.LinkedHashMap<>();
        Map<String, HttpResponse<String>> got = new java.util.LinkedHashMap<>();

        got.put("no body", send(request(server, "/").POST(HttpRequest.BodyPublishers.noBody()).build()));
        cases.put("no body", 400);
        got.put("text in myfile", send(multipart(List.<Object[]>of(new Object[] {"myfile", null, "hello".getBytes(StandardCharsets.UTF_8)}))
                .into(request(server, "/")).build()));
        cases.put("text in myfile", 400);
        got.put("file in another field", send(multipart("photo", "parrot.jpg", image("parrot.jpg")).into(request(server, "/")).build()));
        cases.put("file in another field", 400);
        got.put("a text file", send(multipart("myfile", "notes.txt", "not an image\n".getBytes(StandardCharsets.UTF_8))
                .into(request(server, "/")).build()));
        cases.put("a text file", 415);
        got.put("empty file", send(multipart("myfile", "empty.jpg", new byte[0]).into(request(server, "/")).build()));
        cases.put("empty file", 400);
        byte[] gif = "GIF89a....".getBytes(StandardCharsets.US_ASCII);
        got.put("a GIF", send(multipart("myfile", "anim.gif", gif).into(request(server, "/")).build()));
        cases.put("a GIF", 415);
        byte[] big = Arrays.copyOf(image("parrot.jpg"), (int) MAX_FILE + 100_000); // a JPEG header, padded past the file limit
        got.put("oversized file", send(multipart("myfile", "big.jpg", big).into(request(server, "/")).build()));
        cases.put("oversized file", 413);
        byte[] huge = Arrays.copyOf(image("parrot.jpg"), (int) MAX_REQUEST + 100_000);
        got.put("oversized request", send(multipart("myfile", "huge.jpg", huge).into(request(server, "/")).build()));
        cases.put("oversized request", 413);
        got.put("two files", send(multipart(List.of(new Object[] {"myfile", "a.jpg", image("parrot.jpg")},
                new Object[] {"myfile", "b.jpg", image("owl.jpg")})).into(request(server, "/")).build()));
        cases.put("two files", 400);
        got.put("api: a text file among images", send(multipart(List.of(new Object[] {"files", "a.jpg", image("parrot.jpg")},
                new Object[] {"files", "b.txt", "text".getBytes(StandardCharsets.UTF_8)})).into(request(server, "/api/jobs")).build()));
        cases.put("api: a text file among images", 415);
        List<Object[]> many = new ArrayList<>();
        for (int i = 0; i < 21; i++) {
            many.add(new Object[] {"files", "p" + i + ".jpg", image("owl.jpg")});
        }
        got.put("api: too many files", send(multipart(many).into(request(server, "/api/jobs")).build()));
        cases.put("api: too many files", 413);
        got.put("api: images for a job this server did not open", send(multipart("files", "a.jpg", image("owl.jpg"))
                .into(request(server, "/api/jobs/20200101-000000-abcdef/images")).build()));
        cases.put("api: images for a job this server did not open", 404);
        got.put("a post from another site's page", send(multipart("myfile", "parrot.jpg", image("parrot.jpg"))
                .into(request(server, "/").header("Origin", "http://evil.example")).build()));
        cases.put("a post from another site's page", 403);

        StringBuilder report = new StringBuilder();
        for (var e : cases.entrySet()) {
            HttpResponse<String> r = got.get(e.getKey());
            report.append(String.format(Locale.ROOT, "  %-48s %d %s", e.getKey(), r.statusCode(), r.body()));
        }
        System.out.print("serve: refused requests\n" + report);
        for (var e : cases.entrySet()) {
            HttpResponse<String> r = got.get(e.getKey());
            assertEquals(e.getValue(), r.statusCode(), e.getKey() + "\n" + show(r));
            assertFalse(r.body().isBlank(), "a refusal says why: " + e.getKey());
        }
        assertEquals(before, StackSnapshot.of(stack), "a refused request stores, writes and queues nothing");
    }

    @Test
    @Order(3)
    void should_require_the_token_when_one_is_set_and_refuse_a_wider_bind_without_one() throws Exception {
        try (WebServer guarded = WebServer.start(stack, WebOptions.defaults().withBind("127.0.0.1:0").withToken(TOKEN), Time.system())) {
            String before = StackSnapshot.of(stack);
            HttpResponse<String> none = send(multipart("myfile", "parrot.jpg", image("parrot.jpg")).into(request(guarded, "/")).build());
            assertEquals(401, none.statusCode(), show(none));
            HttpResponse<String> wrong = send(multipart("myfile", "parrot.jpg", image("parrot.jpg"))
                    .into(request(guarded, "/").header("Authorization", "Bearer not-the-token")).build());
            assertEquals(401, wrong.statusCode(), show(wrong));
            assertEquals(401, send(request(guarded, "/").GET().build()).statusCode());
            assertEquals(401, send(request(guarded, "/api/status").GET().build()).statusCode());
            assertEquals(before, StackSnapshot.of(stack), "a request without the token leaves nothing");

            HttpResponse<String> ok = send(request(guarded, "/api/status").header("Authorization", "Bearer " + TOKEN).GET().build());
            assertEquals(200, ok.statusCode(), show(ok));
            // the page's way: /?token= sets an HttpOnly cookie and drops the token from the address
            HttpResponse<String> login = send(request(guarded, "/?token=" + TOKEN).GET().build());
            assertEquals(303, login.statusCode(), show(login));
            String cookie = login.headers().firstValue("Set-Cookie").orElseThrow();
            assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie);
            assertEquals("/", login.headers().firstValue("Location").orElseThrow());
            HttpResponse<String> page = send(request(guarded, "/").header("Cookie", cookie.substring(0, cookie.indexOf(';'))).GET().build());
            assertEquals(200, page.statusCode(), show(page));
        }
        CliRun wide = pipeline.run("serve", "--local", "--bind", "0.0.0.0:0");
        assertEquals(ExitCodes.FAILURE, wide.exitCode(), wide.evidence());
        assertTrue(wide.err().contains("--token"), wide.evidence());
    }

    @Test
    @Order(4)
    void should_answer_422_with_the_error_code_for_an_image_the_worker_rejects_and_504_when_no_result_comes() throws Exception {
        byte[] cut = Arrays.copyOf(image("parrot.jpg"), 4096); // a JPEG by its header, cut short: the worker says CORRUPT
        HttpResponse<String> rejected = send(multipart("myfile", "cut.jpg", cut).into(request(server, "/")).build());
        assertEquals(422, rejected.statusCode(), show(rejected));
        assertTrue(rejected.body().startsWith("(cut, ERROR CORRUPT"), show(rejected));

        try (WebServer impatient = WebServer.start(stack, WebOptions.defaults().withBind("127.0.0.1:0")
                .withResultTimeout(Duration.ofMillis(1)), Time.system())) {
            HttpResponse<String> late = send(multipart("myfile", "owl.jpg", image("owl.jpg")).into(request(impatient, "/")).build());
            assertEquals(504, late.statusCode(), show(late));
            assertTrue(late.body().contains("imgscale results --job"), show(late));
        }
    }

    @Test
    @Order(5)
    void should_create_fill_stream_list_and_delete_a_job_through_the_api() throws Exception {
        // a job with files at once: the CLI's upload
        HttpResponse<String> created = send(multipart(List.of(new Object[] {"files", "parrot.jpg", image("parrot.jpg")},
                new Object[] {"files", "dragonfly.bmp", image("dragonfly.bmp")})).into(request(server, "/api/jobs")).build());
        assertEquals(201, created.statusCode(), show(created));
        String closedJob = JSON.readTree(created.body()).get("job").asText();

        // an empty job filled one request at a time, as the page does, streamed as it fills
        HttpResponse<String> open = send(request(server, "/api/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertEquals(201, open.statusCode(), show(open));
        String job = JSON.readTree(open.body()).get("job").asText();
        CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> stream = http.sendAsync(request(server,
                "/api/jobs/" + job + "/events").GET().build(), HttpResponse.BodyHandlers.ofLines());
        for (String name : List.of("owl.jpg", "sunflower.bmp", "cat_720p.jpg")) {
            HttpResponse<String> added = send(multipart("files", name, image(name)).into(request(server, "/api/jobs/" + job + "/images")).build());
            assertEquals(201, added.statusCode(), show(added));
        }
        Map<String, String> labels = new HashMap<>();
        boolean complete = false;
        List<String> seen = new ArrayList<>();
        var lines = stream.get(30, TimeUnit.SECONDS).body().iterator();
        String event = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!complete && System.nanoTime() < deadline && lines.hasNext()) {
            String line = lines.next();
            seen.add(line);
            if (line.startsWith("event:")) {
                event = line.substring(6).strip();
            } else if (line.startsWith("data:")) {
                JsonNode data = JSON.readTree(line.substring(5));
                if ("result".equals(event)) {
                    labels.put(data.get("name").asText(), data.path("label").asText());
                } else if ("progress".equals(event)) {
                    complete = data.get("complete").asBoolean() && data.get("total").asInt() == 3;
                }
            }
        }
        assertTrue(complete, "the stream reports the job complete\n" + String.join("\n", seen));
        assertEquals(Map.of("owl.jpg", labels.get("owl.jpg"), "sunflower.bmp", "daisy", "cat_720p.jpg", "Egyptian Mau"), labels,
                String.join("\n", seen));

        JsonNode results = JSON.readTree(send(request(server, "/api/jobs/" + job + "/results").GET().build()).body());
        assertEquals(3, results.get("results").size(), results.toString());
        JsonNode progress = JSON.readTree(send(request(server, "/api/jobs/" + job).GET().build()).body());
        assertEquals(3, progress.get("done").asInt(), progress.toString());
        JsonNode listed = JSON.readTree(send(request(server, "/api/jobs").GET().build()).body());
        Set<String> jobs = new TreeSet<>();
        listed.get("jobs").forEach(j -> jobs.add(j.get("job").asText()));
        assertTrue(jobs.containsAll(List.of(job, closedJob)), listed.toString());

        HttpResponse<String> deleted = send(request(server, "/api/jobs/" + job).DELETE().build());
        assertEquals(200, deleted.statusCode(), show(deleted));
        assertEquals(404, send(request(server, "/api/jobs/" + job).GET().build()).statusCode());
        assertEquals(404, send(multipart("files", "owl.jpg", image("owl.jpg")).into(request(server, "/api/jobs/" + job + "/images")).build())
                .statusCode(), "a deleted job takes no more images");
        assertTrue(stack.input().list("input/" + job + "/").isEmpty(), "its images are gone");
        HttpResponse<String> everything = send(request(server, "/api/jobs").DELETE().build());
        assertEquals(400, everything.statusCode(), "emptying the stack needs ?all=yes\n" + show(everything));
    }

    @Test
    @Order(7)
    void should_stream_a_jobs_results_one_row_per_image_in_the_order_they_were_written() throws Exception {
        String job = dev.imgscale.daemon.wire.JobId.next(java.time.Instant.now());
        long start = System.currentTimeMillis();
        int objects = 30;
        int perObject = 100;
        List<String> expected = new ArrayList<>();
        for (int o = 0; o < objects; o++) {
            List<ResultRecord> rows = new ArrayList<>();
            for (int i = o * perObject; i < (o + 1) * perObject; i++) {
                rows.add(ResultsAtScaleIT.row(job, i));
                expected.add(rows.get(rows.size() - 1).name());
            }
            if (o == 1) { // a redelivered copy of an image the first object holds: given once
                ResultRecord first = ResultsAtScaleIT.row(job, 5);
                rows.add(new ResultRecord(first.v(), job, first.name(), "teapot", 0.5f, List.of(), null, null, first.model(), "w2", 2,
                        first.finishedAt(), first.latencyMs(), first.source()));
            }
            stack.output().put(dev.imgscale.daemon.wire.ResultBatch.key(job, "w1", start, o + 1,
                    dev.imgscale.daemon.wire.ResultBatch.countsOf(rows)), dev.imgscale.daemon.wire.ResultBatch.write(rows),
                    dev.imgscale.daemon.wire.ResultBatch.CONTENT_TYPE);
        }
        stack.output().put(dev.imgscale.daemon.wire.Keys.manifest(job), dev.imgscale.daemon.wire.Json.bytes(
                dev.imgscale.daemon.wire.JobManifest.open(job, start, "test").seal(objects * perObject, 0)), "application/json");

        HttpResponse<String> r = send(request(server, "/api/jobs/" + job + "/results").GET().build());
        assertEquals(200, r.statusCode(), show(r));
        assertTrue(r.headers().firstValue("content-length").isEmpty(), "streamed as it is read, not held whole: " + r.headers());
        JsonNode body = JSON.readTree(r.body());
        assertEquals(job, body.get("job").asText());
        List<String> names = new ArrayList<>();
        body.get("results").forEach(x -> names.add(x.get("name").asText()));
        assertEquals(expected, names, "each image once, object by object in key order");
        assertEquals("macaw", body.get("results").get(5).get("label").asText(), "the first row of a name, not its later copy");
    }

    @Test
    @Order(6)
    void should_serve_the_page_and_its_assets_from_the_jar() throws Exception {
        HttpResponse<String> page = send(request(server, "/").GET().build());
        assertEquals(200, page.statusCode(), show(page));
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"), show(page));
        assertTrue(page.body().contains("id=\"files\"") && page.body().contains("/app.js"), page.body());
        assertFalse(page.body().contains("http://") || page.body().contains("https://"), "no external resource:\n" + page.body());
        for (String asset : List.of("/app.js", "/app.css", "/favicon.svg")) {
            HttpResponse<String> r = send(request(server, asset).GET().build());
            assertEquals(200, r.statusCode(), show(r));
            assertFalse(r.body().contains("https://"), asset + " loads nothing from elsewhere");
        }
        // the JDK client will not send another Host: a hostile name resolving to loopback, by hand
        try (java.net.Socket socket = new java.net.Socket(server.address().getAddress(), server.address().getPort())) {
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: evil.example:8080\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 403"), "DNS rebinding is refused\n" + answer);
        }
        assertEquals(404, send(request(server, "/nothing-here").GET().build()).statusCode());
        Set<String> headers = page.headers().map().keySet().stream().map(h -> h.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
        assertTrue(headers.contains("content-security-policy"), headers.toString());
    }
}
