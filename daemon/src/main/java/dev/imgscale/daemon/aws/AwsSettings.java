package dev.imgscale.daemon.aws;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import software.amazon.awssdk.core.retry.RetryMode;

/**
 * Everything {@link AwsClients} needs to reach AWS, or an S3/SQS look-alike such as the
 * {@linkplain dev.imgscale.daemon.local.LocalStack local stack}: region, credentials,
 * per-service endpoint overrides, timeouts and retry mode.
 *
 * <p>Build it with {@link #fromEnvironment(Map)}, which reads the same variables as the AWS CLI,
 * or with the canonical constructor in tests and in local mode.
 *
 * @param region AWS region id (e.g. {@code us-east-1}); {@code null} lets the SDK's default
 *     region chain decide (profile file, then EC2 instance metadata)
 * @param profile named profile from {@code ~/.aws/config}; {@code null} for the default chain
 * @param endpoints endpoint overrides by service; a service absent from the map goes to AWS
 * @param credentials static credentials; {@code null} to use the named profile, or when no
 *     profile is named, the SDK's default credentials chain (environment, profile, container,
 *     instance role)
 * @param apiCallTimeout limit for one API call including every retry
 * @param apiCallAttemptTimeout limit for one HTTP attempt; must exceed the 20 s SQS long poll
 * @param retryMode the SDK retry mode ({@link RetryMode#STANDARD} unless told otherwise)
 * @param s3PathStyle address buckets as {@code endpoint/bucket/key} rather than
 *     {@code bucket.endpoint/key}; {@link AwsClients} also turns it on for loopback endpoints
 */
public record AwsSettings(
        String region,
        String profile,
        Map<Service, URI> endpoints,
        StaticCredentials credentials,
        Duration apiCallTimeout,
        Duration apiCallAttemptTimeout,
        RetryMode retryMode,
        boolean s3PathStyle) {

    /** Long enough for big images over a slow link, short enough that a stuck call surfaces. */
    public static final Duration DEFAULT_API_CALL_TIMEOUT = Duration.ofMinutes(2);

    /** Above the 20 s maximum SQS long poll, so a long poll is never cut off as a timeout. */
    public static final Duration DEFAULT_API_CALL_ATTEMPT_TIMEOUT = Duration.ofSeconds(40);

    /** The AWS services imgscale talks to, each with the AWS CLI's endpoint variable suffix. */
    public enum Service {
        S3("S3"),
        SQS("SQS"),
        EC2("EC2"),
        SSM("SSM"),
        STS("STS");

        private final String envSuffix;

        Service(String envSuffix) {
            this.envSuffix = envSuffix;
        }

        /** The service-specific endpoint variable, e.g. {@code AWS_ENDPOINT_URL_S3}. */
        public String endpointVariable() {
            return "AWS_ENDPOINT_URL_" + envSuffix;
        }
    }

    /** An access key pair, with the session token of temporary credentials when there is one. */
    public record StaticCredentials(String accessKeyId, String secretAccessKey, String sessionToken) {
        public StaticCredentials {
            requireText(accessKeyId, "accessKeyId");
            requireText(secretAccessKey, "secretAccessKey");
            if (sessionToken != null && sessionToken.isBlank()) {
                sessionToken = null;
            }
        }

        /** Keeps the secret out of logs and exception messages. */
        @Override
        public String toString() {
            return "StaticCredentials[accessKeyId=" + accessKeyId + ", secretAccessKey=***"
                    + (sessionToken == null ? "" : ", sessionToken=***") + "]";
        }
    }

    public AwsSettings {
        if (region != null && region.isBlank()) {
            region = null;
        }
        if (profile != null && profile.isBlank()) {
            profile = null;
        }
        endpoints = endpoints == null || endpoints.isEmpty()
                ? Map.of()
                : Collections.unmodifiableMap(new EnumMap<>(endpoints));
        apiCallTimeout = positive(apiCallTimeout, DEFAULT_API_CALL_TIMEOUT, "apiCallTimeout");
        apiCallAttemptTimeout =
                positive(apiCallAttemptTimeout, DEFAULT_API_CALL_ATTEMPT_TIMEOUT, "apiCallAttemptTimeout");
        retryMode = retryMode == null ? RetryMode.STANDARD : retryMode;
    }

    /**
     * Settings for a set of S3- and SQS-compatible endpoints (the local stack, or any other
     * look-alike) with fixed credentials: every service goes to its endpoint in {@code endpoints},
     * buckets are addressed path-style.
     */
    public static AwsSettings forEndpoints(
            String region, Map<Service, URI> endpoints, StaticCredentials credentials) {
        return new AwsSettings(region, null, endpoints, credentials, null, null, null, true);
    }

    /**
     * Reads the settings the way the AWS CLI does.
     *
     * <ul>
     *   <li>region: {@code AWS_REGION}, else {@code AWS_DEFAULT_REGION}, else the SDK chain;
     *   <li>profile: {@code AWS_PROFILE};
     *   <li>endpoints: {@code AWS_ENDPOINT_URL_S3} (and {@code _SQS}, {@code _EC2}, {@code _SSM},
     *       {@code _STS}) win over the generic {@code AWS_ENDPOINT_URL}; none of them count when
     *       {@code AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true};
     *   <li>credentials: {@code AWS_ACCESS_KEY_ID} with {@code AWS_SECRET_ACCESS_KEY} (and
     *       {@code AWS_SESSION_TOKEN}); they win over {@code AWS_PROFILE}, as in the CLI;
     *   <li>retry mode: {@code AWS_RETRY_MODE} ({@code standard}, {@code legacy},
     *       {@code adaptive}), standard by default;
     *   <li>timeouts: {@code IMGSCALE_AWS_API_CALL_TIMEOUT} and
     *       {@code IMGSCALE_AWS_API_CALL_ATTEMPT_TIMEOUT}, in seconds or ISO-8601 ({@code PT90S});
     *   <li>path-style S3: {@code IMGSCALE_S3_PATH_STYLE=true}.
     * </ul>
     *
     * @throws IllegalArgumentException naming the variable when a value cannot be used
     */
    public static AwsSettings fromEnvironment(Map<String, String> env) {
        Objects.requireNonNull(env, "env");
        String region = firstNonBlank(env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"));

        Map<Service, URI> endpoints = new EnumMap<>(Service.class);
        if (!"true".equalsIgnoreCase(trim(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")))) {
            URI generic = uri(env, "AWS_ENDPOINT_URL");
            for (Service service : Service.values()) {
                URI specific = uri(env, service.endpointVariable());
                URI chosen = specific != null ? specific : generic;
                if (chosen != null) {
                    endpoints.put(service, chosen);
                }
            }
        }

        String keyId = trim(env.get("AWS_ACCESS_KEY_ID"));
        String secret = trim(env.get("AWS_SECRET_ACCESS_KEY"));
        StaticCredentials credentials = null;
        if (keyId != null && secret != null) {
            credentials = new StaticCredentials(keyId, secret, trim(env.get("AWS_SESSION_TOKEN")));
        } else if (keyId != null || secret != null) {
            throw new IllegalArgumentException(
                    "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither.");
        }

        return new AwsSettings(
                region,
                trim(env.get("AWS_PROFILE")),
                endpoints,
                credentials,
                duration(env, "IMGSCALE_AWS_API_CALL_TIMEOUT"),
                duration(env, "IMGSCALE_AWS_API_CALL_ATTEMPT_TIMEOUT"),
                retryMode(env),
                "true".equalsIgnoreCase(trim(env.get("IMGSCALE_S3_PATH_STYLE"))));
    }

    /** The endpoint override for {@code service}, if any. */
    public Optional<URI> endpoint(Service service) {
        return Optional.ofNullable(endpoints.get(service));
    }

    /** A copy with a different endpoint for one service. */
    public AwsSettings withEndpoint(Service service, URI endpoint) {
        Map<Service, URI> copy = new EnumMap<>(Service.class);
        copy.putAll(endpoints);
        copy.put(service, Objects.requireNonNull(endpoint, "endpoint"));
        return new AwsSettings(region, profile, copy, credentials, apiCallTimeout,
                apiCallAttemptTimeout, retryMode, s3PathStyle);
    }

    /**
     * True when {@code service} has an endpoint override whose host is a loopback address
     * ({@code localhost}, {@code 127.x.x.x}, {@code [::1]}): the local stack or a look-alike.
     */
    public boolean isLoopback(Service service) {
        return endpoint(service).map(AwsSettings::isLoopbackHost).orElse(false);
    }

    static boolean isLoopbackHost(URI uri) {
        String host = uri.getHost();
        if (host == null) {
            return false;
        }
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        // Only literal addresses: never let a check like this resolve a name over the network.
        if (!host.matches("[0-9.]+") && !host.startsWith("[")) {
            return false;
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static URI uri(Map<String, String> env, String name) {
        String value = trim(env.get(name));
        if (value == null) {
            return null;
        }
        try {
            URI uri = new URI(value);
            if (uri.getScheme() == null || uri.getHost() == null
                    || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
                throw new IllegalArgumentException(name + " must be an http(s) URL such as"
                        + " http://127.0.0.1:9324, not '" + value + "'.");
            }
            return uri;
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException(name + " is not a valid URL: '" + value + "'.", e);
        }
    }

    private static Duration duration(Map<String, String> env, String name) {
        String value = trim(env.get(name));
        if (value == null) {
            return null;
        }
        try {
            Duration d = value.matches("[0-9]+(\\.[0-9]+)?")
                    ? Duration.ofMillis(Math.round(Double.parseDouble(value) * 1000))
                    : Duration.parse(value);
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException(name + " must be positive, not '" + value + "'.");
            }
            return d;
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(
                    name + " must be seconds (e.g. 90) or ISO-8601 (e.g. PT90S), not '" + value + "'.", e);
        }
    }

    private static RetryMode retryMode(Map<String, String> env) {
        String value = trim(env.get("AWS_RETRY_MODE"));
        if (value == null) {
            return RetryMode.STANDARD;
        }
        switch (value.toLowerCase(Locale.ROOT)) {
            case "standard":
                return RetryMode.STANDARD;
            case "legacy":
                return RetryMode.LEGACY;
            case "adaptive":
                return RetryMode.ADAPTIVE_V2;
            default:
                throw new IllegalArgumentException(
                        "AWS_RETRY_MODE must be standard, legacy or adaptive, not '" + value + "'.");
        }
    }

    private static Duration positive(Duration value, Duration fallback, String name) {
        if (value == null) {
            return fallback;
        }
        if (value.isZero() || value.isNegative()) {
            throw new IllegalArgumentException(name + " must be positive: " + value);
        }
        return value;
    }

    private static String firstNonBlank(String a, String b) {
        String t = trim(a);
        return t != null ? t : trim(b);
    }

    private static String trim(String s) {
        if (s == null) {
            return null;
        }
        String t = s.trim();
        return t.isEmpty() ? null : t;
    }

    private static void requireText(String s, String name) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
    }
}
