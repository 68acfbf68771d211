package dev.imgscale.daemon.web;

import dev.imgscale.classifier.ImgscaleException;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.StatusCodes;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** How every endpoint runs its blocking work and turns a failure into its answer. */
final class Handlers {
    private static final Logger LOG = LoggerFactory.getLogger(Handlers.class);

    private Handlers() {
    }

    /** A handler body that may block (S3, SQS). */
    interface Blocking {
        void handle(HttpServerExchange exchange) throws Exception;
    }

    /**
     * Runs the handler on a worker thread, never the IO threads, and turns a failure into its
     * answer: an {@link HttpError} as it says, a user-fixable {@link ImgscaleException} as 503 (the
     * stack cannot be reached, mostly), anything else as 500.
     */
    static HttpHandler blocking(Blocking handler, boolean api) {
        return new HttpHandler() {
            @Override
            public void handleRequest(HttpServerExchange exchange) {
                if (exchange.isInIoThread()) {
                    exchange.dispatch(this);
                    return;
                }
                try {
                    handler.handle(exchange);
                } catch (Exception e) {
                    fail(exchange, e, api);
                }
            }
        };
    }

    /** Answers the failure (JSON for the API, a line of text otherwise), or ends the exchange if an answer has started. */
    static void fail(HttpServerExchange exchange, Throwable e, boolean api) {
        Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        int status;
        String message;
        if (t instanceof HttpError h) {
            status = h.status();
            message = h.getMessage();
        } else if (t instanceof JobGoneException) {
            status = StatusCodes.GONE;
            message = t.getMessage();
        } else if (t instanceof ImgscaleException) {
            status = StatusCodes.SERVICE_UNAVAILABLE;
            message = t.getMessage();
            LOG.warn("{} {}: {}", exchange.getRequestMethod(), exchange.getRequestPath(), message);
        } else {
            status = StatusCodes.INTERNAL_SERVER_ERROR;
            message = "The server failed (" + t + "); see its log.";
            LOG.error("{} {} failed", exchange.getRequestMethod(), exchange.getRequestPath(), t);
        }
        if (exchange.isResponseStarted()) {
            exchange.endExchange();
            return;
        }
        answer(exchange, status, message, api);
    }

    /** An error: JSON for the API and for any client that accepts JSON, else one line of text (POST /, as the course's tools print it). */
    static void answer(HttpServerExchange exchange, int status, String message, boolean api) {
        if (json(exchange, api)) {
            Responses.jsonError(exchange, status, message);
        } else {
            Responses.text(exchange, status, message);
        }
    }

    static boolean json(HttpServerExchange exchange, boolean api) {
        String accept = exchange.getRequestHeaders().getFirst(Headers.ACCEPT);
        return api || accept != null && accept.contains("application/json");
    }
}
