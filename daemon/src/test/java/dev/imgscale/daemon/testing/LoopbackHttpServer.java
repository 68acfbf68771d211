package dev.imgscale.daemon.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * The HTTP side of the tests' fake AWS endpoints: one handler for every path on 127.0.0.1 at a free
 * port, and the reading and writing of whole bodies. Created stopped, so that a fake can finish
 * building itself before its handler sees a request.
 */
public final class LoopbackHttpServer implements AutoCloseable {
    private final HttpServer server;

    public LoopbackHttpServer(HttpHandler handler) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", handler);
    }

    public LoopbackHttpServer start() {
        server.start();
        return this;
    }

    /** Where clients reach it: {@code http://127.0.0.1:PORT}. */
    public URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @Override
    public void close() {
        server.stop(0);
    }

    /** The whole request body, as UTF-8 text. */
    public static String body(HttpExchange exchange) throws IOException {
        return new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Answers with {@code status} and the whole {@code body}, of type {@code contentType}. */
    public static void reply(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }
}
