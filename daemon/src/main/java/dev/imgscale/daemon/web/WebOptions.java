package dev.imgscale.daemon.web;

import dev.imgscale.classifier.ImgscaleException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link WebServer} listens and what it accepts.
 *
 * @param host           the address to bind (a name or a literal); loopback unless a token is set
 * @param port           the port; 0 picks a free one
 * @param token          the secret every request must carry, or null (allowed on loopback only)
 * @param maxFileBytes   the largest image accepted
 * @param maxRequestBytes the largest request body accepted
 * @param maxFiles       the most images in one request
 * @param resultTimeout  how long {@code POST /} waits for its image's result before answering 504
 * @param rollAfter      images in one shared job of {@code POST /} before a new one starts
 * @param uploads        how slow an upload body may be, and how many one client sends at once
 */
public record WebOptions(String host, int port, String token, long maxFileBytes, long maxRequestBytes, int maxFiles,
                         Duration resultTimeout, int rollAfter, UploadPolicy uploads) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080;
    /** As the worker's own limit (README: TOO_LARGE), so an accepted image is one a worker takes. */
    public static final long DEFAULT_MAX_FILE_BYTES = 20L << 20;
    public static final long DEFAULT_MAX_REQUEST_BYTES = 100L << 20;
    public static final int DEFAULT_MAX_FILES = 1000;
    public static final Duration DEFAULT_RESULT_TIMEOUT = Duration.ofMinutes(5);
    public static final int DEFAULT_ROLL_AFTER = 1000;

    public WebOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(resultTimeout, "resultTimeout");
        Objects.requireNonNull(uploads, "uploads");
        if (port < 0 || port > 65535) {
            throw new ImgscaleException("Port " + port + " is not between 0 and 65535.");
        }
        if (maxFileBytes < 1 || maxRequestBytes < 1 || maxFiles < 1 || rollAfter < 1) {
            throw new ImgscaleException("The request limits must be positive.");
        }
        if (token != null && token.isBlank()) {
            token = null;
        }
        if (token != null && (token.length() < 8 || !token.matches("[A-Za-z0-9._~+/=-]+"))) {
            // it travels in a header, a cookie and a query string: keep it to characters none of them escapes
            throw new ImgscaleException("The token must be at least 8 letters, digits or ._~+/=- (e.g. `openssl rand -hex 16`).");
        }
    }

    /** Loopback, port 8080, no token, the default limits. */
    public static WebOptions defaults() {
        return new WebOptions(DEFAULT_HOST, DEFAULT_PORT, null, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_FILES,
                DEFAULT_RESULT_TIMEOUT, DEFAULT_ROLL_AFTER, UploadPolicy.defaults());
    }

    /** These options bound to {@code HOST:PORT}, {@code [IPv6]:PORT}, {@code HOST} or {@code :PORT}. */
    public WebOptions withBind(String bind) {
        String h = host;
        int p = port;
        String b = bind.strip();
        int colon = b.lastIndexOf(':');
        boolean bracketed = b.startsWith("[");
        if (bracketed && b.indexOf(']') < colon || !bracketed && colon >= 0 && b.indexOf(':') == colon) {
            String portText = b.substring(colon + 1);
            try {
                p = Integer.parseInt(portText);
            } catch (NumberFormatException e) {
                throw new ImgscaleException("'" + bind + "' is not HOST:PORT (the port '" + portText + "' is not a number).");
            }
            b = b.substring(0, colon);
        }
        if (!b.isEmpty()) {
            h = bracketed ? b.substring(1, b.length() - (b.endsWith("]") ? 1 : 0)) : b;
        }
        return new WebOptions(h, p, token, maxFileBytes, maxRequestBytes, maxFiles, resultTimeout, rollAfter, uploads);
    }

    public WebOptions withToken(String value) {
        return new WebOptions(host, port, value, maxFileBytes, maxRequestBytes, maxFiles, resultTimeout, rollAfter, uploads);
    }

    public WebOptions withLimits(long fileBytes, long requestBytes, int files) {
        return new WebOptions(host, port, token, fileBytes, requestBytes, files, resultTimeout, rollAfter, uploads);
    }

    public WebOptions withResultTimeout(Duration timeout) {
        return new WebOptions(host, port, token, maxFileBytes, maxRequestBytes, maxFiles, timeout, rollAfter, uploads);
    }

    public WebOptions withRollAfter(int images) {
        return new WebOptions(host, port, token, maxFileBytes, maxRequestBytes, maxFiles, resultTimeout, images, uploads);
    }

    public WebOptions withUploads(UploadPolicy policy) {
        return new WebOptions(host, port, token, maxFileBytes, maxRequestBytes, maxFiles, resultTimeout, rollAfter, policy);
    }

    /**
     * Whether the bind address is loopback only. Anything else (a LAN address, 0.0.0.0) can be
     * reached by other machines, which then could fill the buckets and the queue: it needs a token.
     */
    public boolean loopback() {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new ImgscaleException("Cannot resolve the bind address '" + host + "'.");
        }
    }

    /** Refuses a bind address other machines can reach when no token protects it. */
    public void checkExposure() {
        if (token == null && !loopback()) {
            throw new ImgscaleException("Binding to " + host + " lets other machines in: give --token SECRET (every request must then"
                    + " carry it), or bind to 127.0.0.1.");
        }
    }
}
