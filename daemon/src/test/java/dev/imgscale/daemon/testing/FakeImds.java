package dev.imgscale.daemon.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The EC2 instance metadata service's interruption notices on 127.0.0.1 (an ephemeral port), for
 * tests of code that watches them: point {@code AWS_EC2_METADATA_SERVICE_ENDPOINT} at {@link #uri()}
 * (in this JVM, or in the environment of a worker process).
 *
 * <p>It speaks IMDSv2: {@code PUT /latest/api/token} (with the TTL header) hands out a session token,
 * and every {@code GET} must carry the current one or gets 401. {@code spot/instance-action} and
 * {@code events/recommendations/rebalance} answer from queues of replies, 404 ("no notice") when a
 * queue is empty; a notice at the end of a queue stays, as IMDS keeps answering it once given. Every
 * request is logged ({@code METHOD path token=...}).
 */
public final class FakeImds implements AutoCloseable {
    public static final String SPOT_ACTION = "/latest/meta-data/spot/instance-action";
    public static final String REBALANCE = "/latest/meta-data/events/recommendations/rebalance";

    /** One answer: a status and a body. */
    public record Reply(int status, String body) {
        /** A notice (a JSON body with 200): IMDS keeps answering it once given. */
        boolean sticky() {
            return status == 200 && body.startsWith("{");
        }
    }

    private final HttpServer server;
    private final Deque<Reply> spotAction = new ArrayDeque<>();
    private final Deque<Reply> rebalance = new ArrayDeque<>();
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final java.util.Map<String, String> metadata = new java.util.HashMap<>();
    private int tokenStatus = 200;
    private int tokens;

    private FakeImds() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
    }

    public static FakeImds start() throws IOException {
        FakeImds f = new FakeImds();
        f.server.start();
        return f;
    }

    /** Answers {@code GET /latest/meta-data/<path>} with {@code value} from now on (e.g. {@code instance-type}). */
    public synchronized FakeImds metadata(String path, String value) {
        metadata.put("/latest/meta-data/" + path, value);
        return this;
    }

    /** The value for {@code AWS_EC2_METADATA_SERVICE_ENDPOINT}. */
    public String uri() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The next answer of {@code spot/instance-action}. */
    public synchronized FakeImds queueSpotAction(int status, String body) {
        spotAction.add(new Reply(status, body));
        return this;
    }

    /** The next answer of {@code events/recommendations/rebalance}. */
    public synchronized FakeImds queueRebalance(int status, String body) {
        rebalance.add(new Reply(status, body));
        return this;
    }

    /** Announces a Spot interruption ({@code terminate} at {@code time}) from the next look on, for good. */
    public FakeImds announceInterruption(Instant time) {
        return queueSpotAction(200, "{\"action\": \"terminate\", \"time\": \"" + time + "\"}");
    }

    /** Announces a rebalance recommendation from the next look on, for good. */
    public FakeImds announceRebalance(Instant noticeTime) {
        return queueRebalance(200, "{\"noticeTime\": \"" + noticeTime + "\"}");
    }

    /** What {@code PUT /latest/api/token} answers from now on (403: IMDS turned off on the instance). */
    public synchronized void tokenStatus(int status) {
        tokenStatus = status;
    }

    /** Every request so far: {@code METHOD path token=...}. */
    public List<String> log() {
        return List.copyOf(log);
    }

    /** How many session tokens were handed out or refused. */
    public long tokenPuts() {
        return log.stream().filter(l -> l.startsWith("PUT /latest/api/token")).count();
    }

    /** How many looks at {@code path} ({@link #SPOT_ACTION}, {@link #REBALANCE}). */
    public long gets(String path) {
        return log.stream().filter(l -> l.startsWith("GET " + path + " ")).count();
    }

    private synchronized void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            String token = x.getRequestHeaders().getFirst("X-aws-ec2-metadata-token");
            log.add(x.getRequestMethod() + " " + path + " token=" + token);
            Reply reply;
            if (x.getRequestMethod().equals("PUT") && path.equals("/latest/api/token")) {
                String ttl = x.getRequestHeaders().getFirst("X-aws-ec2-metadata-token-ttl-seconds");
                reply = ttl == null ? new Reply(400, "") : tokenStatus != 200 ? new Reply(tokenStatus, "")
                        : new Reply(200, "tok-" + ++tokens);
            } else if (!x.getRequestMethod().equals("GET")) {
                reply = new Reply(405, "");
            } else if (token == null || !token.equals("tok-" + tokens)) {
                reply = new Reply(401, "");
            } else if (path.equals(SPOT_ACTION)) {
                reply = next(spotAction);
            } else if (path.equals(REBALANCE)) {
                reply = next(rebalance);
            } else if (metadata.containsKey(path)) {
                reply = new Reply(200, metadata.get(path));
            } else {
                reply = new Reply(404, "");
            }
            if (reply.status() == 401 && token != null && token.equals("tok-" + tokens)) {
                tokens++; // a queued 401: the token in use is no longer good
            }
            byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(reply.status(), body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                x.getResponseBody().write(body);
            }
        }
    }

    private static Reply next(Deque<Reply> queue) {
        if (queue.isEmpty()) {
            return new Reply(404, "");
        }
        return queue.size() == 1 && queue.peek().sticky() ? queue.peek() : queue.poll();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
