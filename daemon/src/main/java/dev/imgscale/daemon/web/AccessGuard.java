package dev.imgscale.daemon.web;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.Cookie;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.StatusCodes;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Deque;
import java.util.Locale;

/**
 * Who may use the server. With a token, every request carries it, as {@code Authorization: Bearer
 * TOKEN} (scripts) or as the cookie the page gets once it is opened at {@code /?token=TOKEN}.
 * Without one the server listens on loopback only, and two browser attacks on a local server are
 * refused: a page of another site posting to it (its {@code Origin} is not this server), and a
 * hostile name that resolves to 127.0.0.1 (DNS rebinding: its {@code Host} is not a loopback name).
 */
final class AccessGuard implements HttpHandler {
    static final String COOKIE = "imgscale_token";

    private final HttpHandler next;
    private final byte[] token;

    AccessGuard(HttpHandler next, String token) {
        this.next = next;
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        String host = exchange.getRequestHeaders().getFirst(Headers.HOST);
        if (token == null && !loopbackHost(host)) {
            Responses.text(exchange, StatusCodes.FORBIDDEN, "This server answers on loopback names only (Host: " + host
                    + "); open it at http://127.0.0.1:" + exchange.getDestinationAddress().getPort() + "/");
            return;
        }
        boolean reading = Methods.GET.equals(exchange.getRequestMethod()) || Methods.HEAD.equals(exchange.getRequestMethod());
        String origin = exchange.getRequestHeaders().getFirst(Headers.ORIGIN);
        if (!reading && origin != null && !sameOrigin(origin, host)) {
            Responses.text(exchange, StatusCodes.FORBIDDEN, "Requests from pages of other sites (Origin: " + origin + ") are refused.");
            return;
        }
        if (token != null) {
            Deque<String> offered = exchange.getQueryParameters().get("token");
            if (offered != null && reading && "/".equals(exchange.getRelativePath())) {
                if (!matches(offered.peekFirst())) {
                    Responses.text(exchange, StatusCodes.UNAUTHORIZED, "Wrong token.");
                    return;
                }
                // The token moves from the address into an HttpOnly cookie, and the address loses it
                // (so it stays out of the history and of links copied from the address bar).
                exchange.getResponseHeaders().add(Headers.SET_COOKIE, COOKIE + "=" + offered.peekFirst()
                        + "; Path=/; HttpOnly; SameSite=Strict");
                Deque<String> job = exchange.getQueryParameters().get("job");
                String location = job == null ? "/" : "/?job=" + java.net.URLEncoder.encode(job.peekFirst(), StandardCharsets.UTF_8);
                exchange.getResponseHeaders().put(Headers.LOCATION, location);
                exchange.setStatusCode(StatusCodes.SEE_OTHER);
                exchange.endExchange();
                return;
            }
            if (!authorised(exchange)) {
                exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer realm=\"imgscale\"");
                Responses.text(exchange, StatusCodes.UNAUTHORIZED, "This server needs its token: send the header"
                        + " 'Authorization: Bearer TOKEN', or open the page once at /?token=TOKEN.");
                return;
            }
        }
        next.handleRequest(exchange);
    }

    private boolean authorised(HttpServerExchange exchange) {
        String header = exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION);
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) && matches(header.substring(7).strip())) {
            return true;
        }
        Cookie cookie = exchange.getRequestCookie(COOKIE);
        return cookie != null && matches(cookie.getValue());
    }

    /** Constant time, so the token cannot be guessed a character at a time from response times. */
    private boolean matches(String offered) {
        return offered != null && MessageDigest.isEqual(token, offered.getBytes(StandardCharsets.UTF_8));
    }

    static boolean loopbackHost(String hostHeader) {
        if (hostHeader == null) {
            return false;
        }
        String h = hostHeader.toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            return h.startsWith("[::1]");
        }
        int colon = h.indexOf(':');
        String name = colon >= 0 ? h.substring(0, colon) : h;
        return name.equals("localhost") || name.endsWith(".localhost") || name.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    private static boolean sameOrigin(String origin, String host) {
        try {
            URI uri = URI.create(origin);
            String authority = uri.getRawAuthority();
            return authority != null && host != null && authority.equalsIgnoreCase(host);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
