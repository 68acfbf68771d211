package dev.imgscale.daemon.web;

import com.fasterxml.jackson.databind.JsonNode;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

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

    /** An error for the API: {@code {"error": message}}. */
    static void jsonError(HttpServerExchange exchange, int status, String message) {
        json(exchange, status, WebJson.MAPPER.createObjectNode().put("status", status).put("error", message));
    }
}
