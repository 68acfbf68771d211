package dev.imgscale.daemon.web;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RoutingHandler;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;

/** The page's files, read once from the jar (no CDN: it works offline), and the headers every answer carries. */
final class StaticAssets {
    private static final String STATIC = "dev/imgscale/daemon/web/static/";
    private static final Map<String, String> ASSETS = Map.of(
            "/", "index.html",
            "/app.js", "app.js",
            "/app.css", "app.css",
            "/favicon.svg", "favicon.svg");
    private static final HttpString CONTENT_SECURITY_POLICY = new HttpString("Content-Security-Policy");
    private static final HttpString NO_SNIFF = new HttpString("X-Content-Type-Options");
    private static final HttpString REFERRER_POLICY = new HttpString("Referrer-Policy");
    private static final HttpString FRAME_OPTIONS = new HttpString("X-Frame-Options");

    private final Map<String, byte[]> assets;

    StaticAssets() {
        Map<String, byte[]> out = new HashMap<>();
        for (String name : new HashSet<>(ASSETS.values())) {
            try (InputStream in = StaticAssets.class.getClassLoader().getResourceAsStream(STATIC + name)) {
                if (in == null) {
                    throw new IllegalStateException("the page asset " + STATIC + name + " is missing from the jar");
                }
                out.put(name, in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        this.assets = Map.copyOf(out);
    }

    void addRoutes(RoutingHandler routes) {
        for (String path : ASSETS.keySet()) {
            routes.get(path, this::asset);
        }
    }

    private void asset(HttpServerExchange exchange) {
        String name = ASSETS.get(exchange.getRelativePath());
        byte[] body = assets.get(name);
        String type = name.endsWith(".html") ? "text/html; charset=utf-8"
                : name.endsWith(".js") ? "text/javascript; charset=utf-8"
                : name.endsWith(".css") ? "text/css; charset=utf-8"
                : "image/svg+xml";
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, type);
        exchange.getResponseSender().send(ByteBuffer.wrap(body));
    }

    /** The page loads nothing from elsewhere and may not be framed; nothing is cached (answers change with the stack). */
    static HttpHandler securityHeaders(HttpHandler next) {
        return exchange -> {
            var h = exchange.getResponseHeaders();
            h.put(NO_SNIFF, "nosniff");
            h.put(REFERRER_POLICY, "no-referrer");
            h.put(FRAME_OPTIONS, "DENY");
            h.put(CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self';"
                    + " connect-src 'self'; frame-ancestors 'none'; form-action 'self'");
            h.put(Headers.CACHE_CONTROL, "no-store");
            next.handleRequest(exchange);
        };
    }
}
