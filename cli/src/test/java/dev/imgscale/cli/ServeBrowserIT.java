package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.TestAssets;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page as a person uses it, in Debian's headless Chromium: {@code bin/imgscale serve --local}
 * (the built jar) with a worker on the embedded stack; the development images are chosen in the
 * page's file input, and every one must show its label. Saves {@code cli/target/serve-page.png}.
 *
 * <p>Chromium is driven over its DevTools protocol with the JDK's own WebSocket client: no
 * driver binary, no browser download, nothing beyond the {@code chromium} package. Without that
 * package the test fails, it does not skip.
 */
class ServeBrowserIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("IMGSCALE_CHROMIUM", "/usr/bin/chromium"));

    @TempDir
    Path dir;

    @Test
    void should_show_a_label_for_every_development_image_chosen_on_the_page() throws Exception {
        assertTrue(Files.isExecutable(CHROMIUM), "The browser test needs Debian's Chromium at " + CHROMIUM
                + ": apt-get install chromium (as .ci/run does), or set IMGSCALE_CHROMIUM.");
        List<String[]> expected = TestAssets.expected();
        Path screenshot = Path.of(System.getProperty("imgscale.jar")).getParent().resolve("serve-page.png");
        Files.deleteIfExists(screenshot);
        try (LocalPipeline pipeline = LocalPipeline.start(dir, Map.of())) {
            pipeline.worker("--idle-exit", "300");
            Process serve = serve(pipeline.env);
            Process chromium = null;
            try {
                URI page = awaitUrl(serve);
                chromium = chromium(dir.resolve("chromium-profile"));
                try (Cdp cdp = Cdp.connect(devToolsUri(chromium, dir.resolve("chromium-profile")))) {
                    cdp.openPage(1280, 1000);
                    cdp.call("Page.navigate", obj().put("url", page.toString()));
                    cdp.await("the page is loaded and shows the stack",
                            "document.readyState === 'complete' && document.getElementById('stack-line').textContent.startsWith('stack')",
                            Duration.ofSeconds(30));

                    List<String> files = new ArrayList<>();
                    for (String[] row : expected) {
                        files.add(TestAssets.images().resolve(row[0]).toString());
                    }
                    cdp.chooseFiles("#files", files);

                    String rowsJs = "JSON.stringify([...document.querySelectorAll('#results tbody tr')].map(r =>"
                            + " [r.dataset.file, r.dataset.state, r.querySelector('.label').textContent]))";
                    cdp.await("every image has a label", "(() => { const rows = " + rowsJs + "; const r = JSON.parse(rows);"
                            + " return r.length === " + files.size() + " && r.every(x => x[1] === 'done' || x[1] === 'failed'); })()",
                            Duration.ofSeconds(180));
                    cdp.await("the job's progress says complete",
                            "document.getElementById('job-count').textContent.includes('complete')", Duration.ofSeconds(15));
                    cdp.await("the status panel shows the job done", "document.getElementById('recent').textContent.includes('"
                            + files.size() + "/" + files.size() + "')", Duration.ofSeconds(15));
                    Files.write(screenshot, cdp.screenshot());
                    String recent = cdp.evaluate("document.getElementById('recent').textContent").asText();
                    assertTrue(recent.contains(files.size() + "/" + files.size()), "the status panel stays current: " + recent);

                    JsonNode rows = JSON.readTree(cdp.evaluate(rowsJs).asText());
                    Map<String, String[]> byFile = new HashMap<>();
                    rows.forEach(r -> byFile.put(r.get(0).asText(), new String[] {r.get(1).asText(), r.get(2).asText()}));
                    for (String[] row : expected) {
                        String[] got = byFile.get(row[0]);
                        assertEquals("done", got[0], row[0] + " is labelled: " + rows);
                        if (Double.parseDouble(row[2]) >= 0.5) {
                            assertEquals(row[1], got[1], row[0] + ": " + rows);
                        }
                    }
                    String count = cdp.evaluate("document.getElementById('job-count').textContent").asText();
                    assertTrue(count.startsWith(expected.size() + " of " + expected.size() + " labelled"), count);
                    System.out.println("serve: the page labelled " + expected.size() + " images in Chromium (" + count + "); screenshot "
                            + screenshot);
                }
            } finally {
                if (chromium != null) {
                    chromium.destroy();
                    chromium.waitFor(10, TimeUnit.SECONDS);
                }
                serve.destroy(); // SIGTERM
                assertTrue(serve.waitFor(30, TimeUnit.SECONDS), "serve stops on SIGTERM");
            }
            // 143 is the JVM's exit on SIGTERM once its shutdown hooks ran (as for `local up`)
            String log = Files.readString(dir.resolve("serve.err"));
            assertTrue(serve.exitValue() == 143 || serve.exitValue() == 0, "serve's exit on SIGTERM: " + serve.exitValue() + "\n" + log);
            assertTrue(log.contains("Stopped serving"), "serve stops cleanly on SIGTERM:\n" + log);
        }
        assertTrue(Files.size(screenshot) > 10_000, "a screenshot was saved: " + screenshot);
    }

    /** {@code bin/imgscale serve --local} on a free port, with the test stack's environment. */
    private Process serve(Map<String, String> env) throws IOException {
        Path launcher = Path.of(System.getProperty("imgscale.repo")).resolve("bin/imgscale");
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "serve", "--local", "--bind", "127.0.0.1:0");
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.environment().put("IMGSCALE_JAR", System.getProperty("imgscale.jar"));
        pb.redirectError(dir.resolve("serve.err").toFile());
        return pb.start();
    }

    /** The address serve prints when it is ready; its standard output is read to the end meanwhile. */
    private URI awaitUrl(Process serve) throws Exception {
        CompletableFuture<URI> url = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            Pattern p = Pattern.compile("imgscale serve: (http://\\S+/)");
            try (BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    Matcher m = p.matcher(line);
                    if (m.find()) {
                        url.complete(URI.create(m.group(1)));
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            url.complete(null);
        }, "serve-stdout");
        reader.setDaemon(true);
        reader.start();
        URI uri = url.get(60, TimeUnit.SECONDS);
        assertTrue(uri != null, "serve did not start:\n" + Files.readString(dir.resolve("serve.err")));
        return uri;
    }

    /** Headless Chromium with a fresh profile, kept off the network it cannot reach here. */
    private Process chromium(Path profile) throws IOException {
        Files.createDirectories(profile);
        ProcessBuilder pb = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + profile, "--remote-debugging-port=0", "about:blank");
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("chromium.log").toFile());
        return pb.start();
    }

    /** Chromium writes its DevTools port and browser path into the profile once it listens. */
    private URI devToolsUri(Process chromium, Path profile) throws Exception {
        Path file = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(file) || Files.readAllLines(file).size() < 2) {
            assertTrue(chromium.isAlive() && System.nanoTime() < deadline, "Chromium did not start:\n"
                    + Files.readString(dir.resolve("chromium.log")));
            Thread.sleep(50);
        }
        List<String> lines = Files.readAllLines(file);
        return URI.create("ws://127.0.0.1:" + lines.get(0).strip() + lines.get(1).strip());
    }

    static ObjectNode obj() {
        return JSON.createObjectNode();
    }

    /** The few DevTools protocol calls this test needs, over the JDK's WebSocket client. */
    static final class Cdp implements WebSocket.Listener, AutoCloseable {
        private final AtomicInteger ids = new AtomicInteger();
        private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        private final StringBuilder partial = new StringBuilder();
        private WebSocket socket;
        private String session;

        static Cdp connect(URI uri) throws Exception {
            Cdp cdp = new Cdp();
            cdp.socket = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(uri, cdp).get(30, TimeUnit.SECONDS);
            return cdp;
        }

        /** A new tab, attached: later calls go to it. */
        void openPage(int width, int height) throws Exception {
            String target = call("Target.createTarget", obj().put("url", "about:blank")).get("targetId").asText();
            session = call("Target.attachToTarget", obj().put("targetId", target).put("flatten", true)).get("sessionId").asText();
            call("Emulation.setDeviceMetricsOverride", obj().put("width", width).put("height", height).put("deviceScaleFactor", 1)
                    .put("mobile", false));
        }

        JsonNode call(String method, ObjectNode params) throws Exception {
            int id = ids.incrementAndGet();
            ObjectNode message = obj().put("id", id).put("method", method);
            message.set("params", params);
            if (session != null) {
                message.put("sessionId", session);
            }
            CompletableFuture<JsonNode> reply = new CompletableFuture<>();
            pending.put(id, reply);
            socket.sendText(message.toString(), true).get(10, TimeUnit.SECONDS);
            JsonNode answer = reply.get(60, TimeUnit.SECONDS);
            if (answer.has("error")) {
                throw new AssertionError(method + " failed: " + answer.get("error"));
            }
            return answer.get("result");
        }

        /** The value of a JavaScript expression in the page. */
        JsonNode evaluate(String expression) throws Exception {
            JsonNode result = call("Runtime.evaluate", obj().put("expression", expression).put("returnByValue", true));
            if (result.has("exceptionDetails")) {
                throw new AssertionError("the page threw on " + expression + ": " + result.get("exceptionDetails"));
            }
            return result.get("result").get("value");
        }

        /** Waits until the expression is true, failing with what the page shows when it does not become so. */
        void await(String what, String expression, Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                JsonNode value = evaluate(expression);
                if (value != null && value.asBoolean()) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("Timed out waiting until " + what + ". The page shows:\n"
                            + evaluate("document.body.innerText").asText());
                }
                Thread.sleep(200);
            }
        }

        /** Sets the files of a file input, as a person choosing them would (the input's change event fires). */
        void chooseFiles(String selector, List<String> files) throws Exception {
            int root = call("DOM.getDocument", obj().put("depth", 0)).get("root").get("nodeId").asInt();
            int node = call("DOM.querySelector", obj().put("nodeId", root).put("selector", selector)).get("nodeId").asInt();
            ObjectNode params = obj().put("nodeId", node);
            ArrayNode list = params.putArray("files");
            files.forEach(list::add);
            call("DOM.setFileInputFiles", params);
        }

        byte[] screenshot() throws Exception {
            String data = call("Page.captureScreenshot", obj().put("format", "png").put("captureBeyondViewport", true))
                    .get("data").asText();
            return Base64.getDecoder().decode(data);
        }

        @Override
        public void onOpen(WebSocket webSocket) {
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                try {
                    JsonNode message = JSON.readTree(partial.toString());
                    if (message.has("id")) {
                        CompletableFuture<JsonNode> reply = pending.remove(message.get("id").asInt());
                        if (reply != null) {
                            reply.complete(message);
                        }
                    }
                } catch (IOException e) {
                    pending.values().forEach(f -> f.completeExceptionally(e));
                }
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            pending.values().forEach(f -> f.completeExceptionally(error));
        }

        @Override
        public void close() {
            socket.abort();
        }
    }
}
