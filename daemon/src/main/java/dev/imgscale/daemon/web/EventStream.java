package dev.imgscale.daemon.web;

import dev.imgscale.daemon.wire.ResultRecord;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.sse.ServerSentEventConnection;
import io.undertow.server.handlers.sse.ServerSentEventHandler;
import io.undertow.util.Headers;
import dev.imgscale.daemon.client.JobProgress;

/** {@code GET /api/jobs/{job}/events}: a job's results as server-sent events, those that exist first, then each as it comes. */
final class EventStream {
    private final ResultWatcher watcher;
    private final OpenJobs openJobs;
    private final ServerSentEventHandler events = new ServerSentEventHandler(this::streamJob);

    EventStream(ResultWatcher watcher, OpenJobs openJobs) {
        this.watcher = watcher;
        this.openJobs = openJobs;
    }

    /** Streams the job, which the caller has checked exists. */
    void handle(HttpServerExchange exchange) throws Exception {
        exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-cache");
        events.handleRequest(exchange);
    }

    private void streamJob(ServerSentEventConnection connection, String lastEventId) {
        String job = connection.getParameter("job");
        // comments every 15 s keep proxies from closing an idle stream and find clients that left
        connection.setKeepAliveTime(15_000);
        ResultSubscriber subscriber = new ResultSubscriber() {
            @Override
            public void result(ResultRecord record) {
                connection.send(WebJson.result(record).toString(), "result", null, null);
            }

            @Override
            public void progress(JobProgress progress) {
                connection.send(WebJson.progress(progress, openJobs.find(job).isPresent()).toString(), "progress", null, null);
            }

            @Override
            public void gone() {
                connection.send("{\"job\":\"" + job + "\"}", "gone", null, null);
                connection.shutdown();
            }

            @Override
            public boolean open() {
                return connection.isOpen();
            }
        };
        connection.addCloseTask(c -> watcher.unsubscribe(job, subscriber));
        watcher.subscribe(job, subscriber);
    }
}
