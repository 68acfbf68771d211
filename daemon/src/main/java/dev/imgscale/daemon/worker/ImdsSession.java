package dev.imgscale.daemon.worker;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Reads instance metadata with IMDSv2: a session token from {@code PUT /latest/api/token}, kept
 * until shortly before it expires, then {@code GET}s that carry it. The endpoint honours
 * {@code AWS_EC2_METADATA_SERVICE_ENDPOINT}, as the AWS SDKs and {@link InstanceIdentity} do.
 *
 * <p>Plain {@link HttpClient} rather than the SDK's {@code Ec2MetadataClient}: that client retries
 * with back-off and turns a 404 into an exception, while a watcher polling every few seconds wants one
 * quick try (a 404 "no notice" is the normal answer) and to tell "IMDS is not there" apart from "IMDS
 * said no"; and it would be one more artifact in the worker's jar for two GETs.
 */
final class ImdsSession {
    static final String DEFAULT_ENDPOINT = "http://169.254.169.254";
    /** Six hours, IMDS's maximum: one PUT serves thousands of polls. */
    static final Duration TOKEN_TTL = Duration.ofHours(6);
    /** Asked again this long before the token expires, so no GET carries a token that just ran out. */
    private static final Duration TOKEN_MARGIN = Duration.ofMinutes(1);
    /** IMDS is link-local and answers in microseconds; anything slower means it is not there. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

    /** IMDS refuses sessions (turned off on this instance: HTTP 403), as good as absent. */
    static final class Unavailable extends IOException {
        private static final long serialVersionUID = 1L;

        Unavailable(String message) {
            super(message);
        }
    }

    private final String base;
    private final Clock clock;
    private final HttpClient http;
    private String token;
    private Instant tokenExpires;

    ImdsSession(String endpoint, Clock clock) {
        String b = endpoint == null || endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint.strip();
        this.base = b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
    }

    /** The endpoint the environment names (the SDKs' variable), or IMDS's link-local address. */
    static String endpoint(Map<String, String> env) {
        return env.getOrDefault("AWS_EC2_METADATA_SERVICE_ENDPOINT", DEFAULT_ENDPOINT);
    }

    String base() {
        return base;
    }

    /**
     * The body at {@code /latest/meta-data/<path>}, or empty on 404 (the usual answer of the notice
     * paths when there is no notice).
     *
     * @throws IOException when IMDS cannot be reached or answers anything else
     */
    synchronized Optional<String> get(String path) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/latest/meta-data/" + path))
                    .timeout(REQUEST_TIMEOUT).header("X-aws-ec2-metadata-token", token()).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return Optional.of(r.body());
            }
            if (r.statusCode() == 404) {
                return Optional.empty();
            }
            if (r.statusCode() == 401 && attempt == 0) {
                // The token expired or IMDS restarted: one new token, one more try.
                token = null;
                continue;
            }
            throw new IOException("GET " + path + " answered HTTP " + r.statusCode());
        }
    }

    private String token() throws IOException, InterruptedException {
        Instant now = clock.instant();
        if (token == null || !now.isBefore(tokenExpires.minus(TOKEN_MARGIN))) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/latest/api/token"))
                    .timeout(REQUEST_TIMEOUT)
                    .header("X-aws-ec2-metadata-token-ttl-seconds", String.valueOf(TOKEN_TTL.toSeconds()))
                    .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200 || r.body().isBlank()) {
                throw new Unavailable("the token request answered HTTP " + r.statusCode());
            }
            token = r.body().strip();
            tokenExpires = now.plus(TOKEN_TTL);
        }
        return token;
    }
}
