package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.testing.FakeImds;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.worker.InterruptionWatcher.Kind;
import dev.imgscale.daemon.worker.InterruptionWatcher.Notice;
import dev.imgscale.daemon.worker.InterruptionWatcher.State;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link InterruptionWatcher} against {@link FakeImds}, a fake instance metadata service on 127.0.0.1: IMDSv2 tokens,
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
        imds.queueSpotAction(404, "");
        imds.queueSpotAction(404, "");

        assertEquals(State.WATCHING, w.poll());
        assertEquals(State.WATCHING, w.poll());
        assertEquals(List.of(), notices);

        imds.queueSpotAction(200, INTERRUPTION);
        assertEquals(State.NOTIFIED, w.poll());
        assertEquals(State.NOTIFIED, w.poll());

        Notice n = new Notice(Kind.SPOT_INTERRUPTION, "terminate", Instant.parse("2026-12-05T12:02:00Z"));
        assertEquals(List.of(n), notices, "the listener is called once");
        assertEquals(Optional.of(n.time()), n.deadline());
        assertEquals(1, imds.tokenPuts(), "one session token serves every poll: " + imds.log());
        assertTrue(imds.log().stream().filter(l -> l.startsWith("GET")).allMatch(l -> l.endsWith("token=tok-1")), imds.log().toString());
        assertEquals(3, imds.gets(FakeImds.SPOT_ACTION),
                "no look after the notice: " + imds.log());
    }

    @Test
    void should_report_a_rebalance_recommendation_when_no_interruption_is_announced() {
        InterruptionWatcher w = watcher();
        imds.queueRebalance(200, REBALANCE);

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
        imds.queueSpotAction(200, INTERRUPTION);
        imds.queueRebalance(200, REBALANCE);

        w.poll();

        assertEquals(List.of(Kind.SPOT_INTERRUPTION), notices.stream().map(Notice::kind).toList());
    }

    @Test
    void should_ask_for_a_new_token_before_the_old_one_expires_and_after_a_401() {
        InterruptionWatcher w = watcher();
        w.poll();
        clock.advance(ImdsSession.TOKEN_TTL.minusSeconds(30));
        w.poll();
        assertEquals(2, imds.tokenPuts(), imds.log().toString());

        imds.queueSpotAction(401, "");
        assertEquals(State.WATCHING, w.poll());
        assertEquals(3, imds.tokenPuts(), "a 401 gets a new token and one more try: " + imds.log());
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
        imds.tokenStatus(403);
        assertEquals(State.ABSENT, watcher().poll());

        int before = imds.log().size();
        InterruptionWatcher off = new InterruptionWatcher(Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.uri(),
                "AWS_EC2_METADATA_DISABLED", "true"), clock, notices::add);
        assertEquals(State.ABSENT, off.poll());
        assertEquals(before, imds.log().size(), "turned off: not one request");
    }

    @Test
    void should_keep_watching_through_a_failed_poll_once_imds_has_answered() {
        InterruptionWatcher w = watcher();
        assertEquals(State.WATCHING, w.poll());

        imds.queueSpotAction(500, "oops");
        assertEquals(State.WATCHING, w.poll());
        imds.queueSpotAction(200, "not json");
        assertEquals(State.WATCHING, w.poll());

        imds.queueSpotAction(200, INTERRUPTION);
        assertEquals(State.NOTIFIED, w.poll());
        assertEquals(1, notices.size());
    }

    @Test
    void should_poll_every_interval_on_the_scheduler_until_the_notice_comes() {
        imds.queueSpotAction(404, "");
        imds.queueSpotAction(404, "");
        imds.queueSpotAction(200, INTERRUPTION);
        InterruptionWatcher w = watcher();
        try (Scheduler scheduler = clock.scheduler("interruptions")) {
            w.start(scheduler, InterruptionWatcher.DEFAULT_INTERVAL);
            clock.advance(Duration.ZERO);
            assertEquals(1, looks(), "the first look is at once: " + imds.log());
            clock.advance(InterruptionWatcher.DEFAULT_INTERVAL.minusMillis(1));
            assertEquals(1, looks(), "not before the interval: " + imds.log());
            clock.advance(Duration.ofMillis(1));
            assertEquals(2, looks(), imds.log().toString());
            assertEquals(List.of(), notices);
            clock.advance(InterruptionWatcher.DEFAULT_INTERVAL);
            assertEquals(3, looks(), imds.log().toString());
            assertEquals(List.of(Kind.SPOT_INTERRUPTION), notices.stream().map(Notice::kind).toList());

            clock.advance(InterruptionWatcher.DEFAULT_INTERVAL.multipliedBy(10));
            assertEquals(3, looks(), "no look after the notice: " + imds.log());
            assertEquals(0, clock.scheduledTasks(), "its task is cancelled");
        }
        assertEquals(State.NOTIFIED, w.state());
        assertEquals(1, notices.size());
    }

    private long looks() {
        return imds.gets(FakeImds.SPOT_ACTION);
    }
}
