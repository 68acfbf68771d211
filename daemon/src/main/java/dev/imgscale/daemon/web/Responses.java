package dev.imgscale.daemon.web;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.xnio.IoUtils;

/** Writes the server's answers: plain text for people and the compatibility endpoint, JSON for the API. */
final class Responses {
    private Responses() {
    }

    /** Answers with one line of text (a newline is added) and ends the exchange. */
    static void text(HttpServerExchange exchange, int status, String body) {
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
        exchange.getResponseSender().send(body.endsWith("\n") ? body : body + "\n");
    }

    /** Answers with a JSON document and ends the exchange. */
    static void json(HttpServerExchange exchange, int status, JsonNode body) {
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.getResponseSender().send(body.toString());
    }

    /** What writes a streamed JSON answer. */
    interface JsonWriter {
        void write(JsonGenerator out) throws IOException;
    }

    /**
     * Answers with a JSON document written as it is made, and ends the exchange; for answers too
     * large to hold. Call on a worker thread (the handler's): it blocks on the client. A failure
     * once the answer has started cuts the connection, so that the client sees the answer end
     * early (an unfinished chunked body, an unfinished document), never a shorter valid one; the
     * failure is then thrown on, for the handler to log.
     */
    static void jsonStream(HttpServerExchange exchange, int status, JsonWriter writer) {
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.startBlocking();
        try {
            JsonGenerator out = WebJson.MAPPER.getFactory().createGenerator(exchange.getOutputStream());
            // closing must not finish a document that failed half-way
            out.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
            writer.write(out);
            out.close();
        } catch (IOException | RuntimeException e) {
            IoUtils.safeClose(exchange.getConnection());
            throw e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
        }
        exchange.endExchange();
    }

    /** Writes a value into a streamed answer, from code that may not throw IOException (a row sink). */
    static void write(JsonGenerator out, JsonNode value) {
        try {
            out.writeTree(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends what a streamed answer has so far. */
    static void flush(JsonGenerator out) {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An error for the API: {@code {"error": message}}. */
    static void jsonError(HttpServerExchange exchange, int status, String message) {
        json(exchange, status, WebJson.MAPPER.createObjectNode().put("status", status).put("error", message));
    }
}
