package dev.imgscale.daemon.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import dev.imgscale.daemon.time.Scheduler;
import dev.imgscale.daemon.time.Time;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the instance metadata service for EC2's notice that this instance is about to go: a Spot
 * interruption ({@code spot/instance-action}, two minutes ahead) or a rebalance recommendation
 * ({@code events/recommendations/rebalance}, an earlier warning that this Spot instance is at higher
 * risk). It polls both every few seconds and calls its listener ONCE with the first notice, then
 * stops: what the worker does about it is the worker's business (see {@link Notice}).
 *
 * <p>Off EC2 there is nothing to watch: when IMDS cannot be reached at all (connection refused, no
 * answer within a second, or sessions refused because IMDS is turned off) before it has ever
 * answered, the watcher stops quietly. Once IMDS has
 * answered, a failed poll is logged and the next one tries again, so a hiccup does not blind it.
 * {@code AWS_EC2_METADATA_DISABLED=true} (the SDKs' switch) turns it off.
 *
 * <p>Its logic is {@link #poll()}, one look, which tests call directly; {@link #start} only runs
 * that on a {@link Scheduler} of the given {@link Time} (fake time in tests).
 */
public final class InterruptionWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InterruptionWatcher.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    static final String SPOT_ACTION = "spot/instance-action";
    static final String REBALANCE = "events/recommendations/rebalance";
    /** Often enough to leave nearly all of the two minutes to the worker; a poll is two local GETs. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

    /** What EC2 announced. */
    public enum Kind {
        /** {@code spot/instance-action}: the instance is stopped, hibernated or terminated at {@link Notice#time()}. */
        SPOT_INTERRUPTION,
        /** {@code events/recommendations/rebalance}: a warning, no deadline; an interruption may follow. */
        REBALANCE_RECOMMENDATION
    }

    /**
     * One notice.
     *
     * @param kind   which path announced it
     * @param action {@code terminate}, {@code stop} or {@code hibernate} for an interruption; {@code rebalance}
     * @param time   when the interruption happens; for a rebalance recommendation, when it was issued
     */
    public record Notice(Kind kind, String action, Instant time) {
        public Notice {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(time, "time");
        }

        /** When the instance goes, if EC2 said: the interruption's time; none for a recommendation. */
        public Optional<Instant> deadline() {
            return kind == Kind.SPOT_INTERRUPTION ? Optional.of(time) : Optional.empty();
        }
    }

    /** What {@link #poll()} concluded. */
    public enum State {
        /** No notice yet; poll again. */
        WATCHING,
        /** A notice was handed to the listener; nothing more to do. */
        NOTIFIED,
        /** IMDS is not there (not on EC2) or turned off; nothing to do. */
        ABSENT
    }

    private final ImdsSession imds;
    private final Consumer<Notice> listener;
    private final boolean disabled;
    // Guarded by "this".
    private State state = State.WATCHING;
    private boolean imdsAnswered;
    private Scheduler.Task scheduled;

    /**
     * @param env      the process environment: {@code AWS_EC2_METADATA_SERVICE_ENDPOINT}, {@code AWS_EC2_METADATA_DISABLED}
     * @param time     for the IMDS session token's expiry
     * @param listener called once, from the polling thread, with the first notice
     */
    public InterruptionWatcher(Map<String, String> env, Time time, Consumer<Notice> listener) {
        this.imds = new ImdsSession(ImdsSession.endpoint(env), time.clock());
        this.listener = Objects.requireNonNull(listener, "listener");
        this.disabled = "true".equalsIgnoreCase(env.getOrDefault("AWS_EC2_METADATA_DISABLED", "").strip());
    }

    /**
     * Polls every {@code interval} on {@code scheduler} (first at once) until a notice comes or IMDS
     * is absent; the scheduler stays the caller's to close.
     */
    public synchronized void start(Scheduler scheduler, Duration interval) {
        if (scheduled != null) {
            throw new IllegalStateException("already started");
        }
        scheduled = scheduler.scheduleWithFixedDelay(() -> {
            if (poll() != State.WATCHING) {
                stop();
            }
        }, Duration.ZERO, interval);
    }

    /** One look at both paths; the listener is called here, once, when a notice first appears. */
    public State poll() {
        synchronized (this) {
            if (state != State.WATCHING) {
                return state;
            }
            if (disabled) {
                LOG.info("Not watching for Spot interruptions: AWS_EC2_METADATA_DISABLED is set");
                state = State.ABSENT;
                return state;
            }
        }
        Notice notice;
        try {
            notice = look();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return state();
        } catch (IOException e) {
            synchronized (this) {
                if (!imdsAnswered && unreachable(e)) {
                    LOG.info("No instance metadata service at {} ({}): not on EC2, not watching for Spot interruptions",
                            imds.base(), e.getClass().getSimpleName());
                    state = State.ABSENT;
                } else {
                    LOG.warn("Could not read the interruption notices from {}: {}; trying again", imds.base(), e.toString());
                }
                return state;
            }
        }
        synchronized (this) {
            imdsAnswered = true;
            if (notice == null || state != State.WATCHING) {
                return state;
            }
            state = State.NOTIFIED;
        }
        LOG.warn("EC2 announced {} ({}, {})", notice.kind() == Kind.SPOT_INTERRUPTION ? "a Spot interruption"
                : "a rebalance recommendation", notice.action(), notice.time());
        listener.accept(notice);
        return State.NOTIFIED;
    }

    public synchronized State state() {
        return state;
    }

    /** Stops polling (a poll under way finishes); the listener is not called after this returns from a poll. */
    public synchronized void stop() {
        if (scheduled != null) {
            scheduled.cancel();
        }
        if (state == State.WATCHING) {
            state = State.ABSENT;
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** The interruption if announced (it has a deadline, so it wins), else a rebalance recommendation, else null. */
    private Notice look() throws IOException, InterruptedException {
        Optional<String> action = imds.get(SPOT_ACTION);
        if (action.isPresent()) {
            JsonNode n = parse(action.get(), SPOT_ACTION);
            return new Notice(Kind.SPOT_INTERRUPTION, text(n, "action", SPOT_ACTION), time(n, "time", SPOT_ACTION));
        }
        Optional<String> rebalance = imds.get(REBALANCE);
        if (rebalance.isPresent()) {
            JsonNode n = parse(rebalance.get(), REBALANCE);
            return new Notice(Kind.REBALANCE_RECOMMENDATION, "rebalance", time(n, "noticeTime", REBALANCE));
        }
        return null;
    }

    private static JsonNode parse(String body, String path) throws IOException {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new IOException(path + " is not JSON: " + body, e);
        }
    }

    private static String text(JsonNode n, String field, String path) throws IOException {
        String v = n.path(field).asText("");
        if (v.isBlank()) {
            throw new IOException(path + " has no " + field + ": " + n);
        }
        return v;
    }

    private static Instant time(JsonNode n, String field, String path) throws IOException {
        try {
            return Instant.parse(text(n, field, path));
        } catch (DateTimeParseException e) {
            throw new IOException(path + " has a " + field + " that is not a time: " + n, e);
        }
    }

    /** Nobody there at all, as opposed to IMDS answering something unexpected. */
    private static boolean unreachable(IOException e) {
        return e instanceof ConnectException || e instanceof HttpConnectTimeoutException || e instanceof HttpTimeoutException
                || e instanceof ImdsSession.Unavailable || e.getCause() instanceof ConnectException;
    }
}
