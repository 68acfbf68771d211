package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.worker.InterruptionWatcher.Kind;
import dev.imgscale.daemon.worker.InterruptionWatcher.Notice;
import dev.imgscale.daemon.worker.InterruptionWatcher.State;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link InterruptionWatcher} against a fake instance metadata service on 127.0.0.1: IMDSv2 tokens,
 * "no notice" (404) then a notice, rebalance recommendations, a missing IMDS, and the listener
 * called once.
 */
class InterruptionWatcherTest {
    static final String INTERRUPTION = "{\"action\": \"terminate\", \"time\": \"2026-12-05T12:02:00Z\"}";
    static final String REBALANCE = "{\"noticeTime\": \"2026-12-05T11:58:00Z\"}";

    FakeImds imds;
    FakeTime clock = new FakeTime(Instant.parse("2026-12-05T12:00:00Z"));
    List<Notice> notices = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        imds = FakeImds.start();
    }

    @AfterEach
    void stop() {
        imds.close();
    }

    InterruptionWatcher watcher() {
        return new InterruptionWatcher(Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.uri()), clock, notices::add);
    }

    @Test
    void should_report_a_spot_interruption_once_after_polls_without_one() {
        InterruptionWatcher w = watcher();
        imds.spotAction.add(new Reply(404, ""));
        imds.spotAction.add(new Reply(404, ""));

        assertEquals(State.WATCHING, w.poll());
        assertEquals(State.WATCHING, w.poll());
        assertEquals(List.of(), notices);

        imds.spotAction.add(new Reply(200, INTERRUPTION));
        assertEquals(State.NOTIFIED, w.poll());
        assertEquals(State.NOTIFIED, w.poll());

        Notice n = new Notice(Kind.SPOT_INTERRUPTION, "terminate", Instant.parse("2026-12-05T12:02:00Z"));
        assertEquals(List.of(n), notices, "the listener is called once");
        assertEquals(Optional.of(n.time()), n.deadline());
        assertEquals(1, imds.tokenPuts(), "one session token serves every poll: " + imds.log);
        assertTrue(imds.log.stream().filter(l -> l.startsWith("GET")).allMatch(l -> l.endsWith("token=tok-1")), imds.log.toString());
        assertEquals(3, imds.log.stream().filter(l -> l.startsWith("GET /latest/meta-data/spot/instance-action")).count(),
                "no look after the notice: " + imds.log);
    }

    @Test
    void should_report_a_rebalance_recommendation_when_no_interruption_is_announced() {
        InterruptionWatcher w = watcher();
        imds.rebalance.add(new Reply(200, REBALANCE));

        assertEquals(State.NOTIFIED, w.poll());

        Notice n = notices.get(0);
        assertEquals(Kind.REBALANCE_RECOMMENDATION, n.kind());
        assertEquals("rebalance", n.action());
        assertEquals(Instant.parse("2026-12-05T11:58:00Z"), n.time());
        assertEquals(Optional.empty(), n.deadline());
    }

    @Test
    void should_prefer_the_interruption_when_both_are_announced() {
        InterruptionWatcher w = watcher();
        imds.spotAction.add(new Reply(200, INTERRUPTION));
        imds.rebalance.add(new Reply(200, REBALANCE));

        w.poll();

        assertEquals(List.of(Kind.SPOT_INTERRUPTION), notices.stream().map(Notice::kind).toList());
    }

    @Test
    void should_ask_for_a_new_token_before_the_old_one_expires_and_after_a_401() {
        InterruptionWatcher w = watcher();
        w.poll();
        clock.advance(ImdsSession.TOKEN_TTL.minusSeconds(30));
        w.poll();
        assertEquals(2, imds.tokenPuts(), imds.log.toString());

        imds.spotAction.add(new Reply(401, ""));
        assertEquals(State.WATCHING, w.poll());
        assertEquals(3, imds.tokenPuts(), "a 401 gets a new token and one more try: " + imds.log);
        assertEquals(List.of(), notices);
    }

    @Test
    void should_stop_quietly_when_there_is_no_metadata_service() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        InterruptionWatcher w = new InterruptionWatcher(
                Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:" + closedPort), clock, notices::add);

        assertEquals(State.ABSENT, w.poll());
        assertEquals(State.ABSENT, w.poll());
        assertEquals(List.of(), notices);
    }

    @Test
    void should_stop_quietly_when_imds_refuses_sessions_or_is_turned_off() {
        imds.tokenStatus = 403;
        assertEquals(State.ABSENT, watcher().poll());

        int before = imds.log.size();
        InterruptionWatcher off = new InterruptionWatcher(Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.uri(),
                "AWS_EC2_METADATA_DISABLED", "true"), clock, notices::add);
        assertEquals(State.ABSENT, off.poll());
        assertEquals(before, imds.log.size(), "turned off: not one request");
    }

    @Test
    void should_keep_watching_through_a_failed_poll_once_imds_has_answered() {
        InterruptionWatcher w = watcher();
        assertEquals(State.WATCHING, w.poll());

        imds.spotAction.add(new Reply(500, "oops"));
        assertEquals(State.WATCHING, w.poll());
        imds.spotAction.add(new Reply(200, "not json"));
        assertEquals(State.WATCHING, w.poll());

        imds.spotAction.add(new Reply(200, INTERRUPTION));
        assertEquals(State.NOTIFIED, w.poll());
        assertEquals(1, notices.size());
    }

    @Test
    void should_poll_every_interval_on_the_scheduler_until_the_notice_comes() {
        imds.spotAction.add(new Reply(404, ""));
        imds.spotAction.add(new Reply(404, ""));
        imds.spotAction.add(new Reply(200, INTERRUPTION));
        InterruptionWatcher w = watcher();
        try (Scheduler scheduler = clock.scheduler("interruptions")) {
            w.start(scheduler, InterruptionWatcher.DEFAULT_INTERVAL);
            clock.advance(Duration.ZERO);
            assertEquals(1, looks(), "the first look is at once: " + imds.log);
            clock.advance(InterruptionWatcher.DEFAULT_INTERVAL.minusMillis(1));
            assertEquals(1, looks(), "not before the interval: " + imds.log);
            clock.advance(Duration.ofMillis(1));
            assertEquals(2, looks(), imds.log.toString());
            assertEquals(List.of(), notices);
            clock.advance(InterruptionWatcher.DEFAULT_INTERVAL);
            assertEquals(3, looks(), imds.log.toString());
            assertEquals(List.of(Kind.SPOT_INTERRUPTION), notices.stream().map(Notice::kind).toList());

            clock.advance(InterruptionWatcher.DEFAULT_INTERVAL.multipliedBy(10));
            assertEquals(3, looks(), "no look after the notice: " + imds.log);
            assertEquals(0, clock.scheduledTasks(), "its task is cancelled");
        }
        assertEquals(State.NOTIFIED, w.state());
        assertEquals(1, notices.size());
    }

    private long looks() {
        return imds.log.stream().filter(l -> l.startsWith("GET /latest/meta-data/spot/instance-action")).count();
    }

    // ---- the fake ----

    record Reply(int status, String body) {
        /** A notice: IMDS keeps answering it once given. */
        boolean sticky() {
            return status == 200 && body.startsWith("{");
        }
    }

    /** IMDSv2 on loopback: PUT token, GET the two notice paths from queues (404 when a queue is empty). */
    static final class FakeImds implements AutoCloseable {
        final HttpServer server;
        final Deque<Reply> spotAction = new ArrayDeque<>();
        final Deque<Reply> rebalance = new ArrayDeque<>();
        final List<String> log = new CopyOnWriteArrayList<>();
        volatile int tokenStatus = 200;
        private int tokens;

        private FakeImds() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", this::handle);
        }

        static FakeImds start() throws IOException {
            FakeImds f = new FakeImds();
            f.server.start();
            return f;
        }

        String uri() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        long tokenPuts() {
            return log.stream().filter(l -> l.startsWith("PUT /latest/api/token")).count();
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
                } else if (path.equals("/latest/meta-data/spot/instance-action")) {
                    reply = next(spotAction);
                } else if (path.equals("/latest/meta-data/events/recommendations/rebalance")) {
                    reply = next(rebalance);
                } else {
                    reply = new Reply(404, "");
                }
                if (reply.status() == 401 && token != null && token.equals("tok-" + tokens)) {
                    tokens++; // a 401 from the queue: the old token is no longer good
                }
                byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
                x.sendResponseHeaders(reply.status(), body.length == 0 ? -1 : body.length);
                if (body.length > 0) {
                    x.getResponseBody().write(body);
                }
            }
        }

        /** The head of a queue; a notice at its end stays (once given, IMDS keeps answering it). */
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
}
