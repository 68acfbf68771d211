package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.web.UploadPolicy;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.web.WebOptions;
import dev.imgscale.daemon.web.WebServer;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imgscale serve}: the web page, the compatibility endpoint and the JSON API over the stack. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the stack over HTTP until Ctrl-C or SIGTERM: a page at / to drop images and watch their labels arrive,",
            "POST / with an image in the multipart field 'myfile' answered '(name, label)' once it is labelled,",
            "and a JSON API under /api (jobs, results, server-sent events, status, reset).",
            "Binds 127.0.0.1:8080; any other address needs --token, which every request must then carry."})
final class ServeCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Option(names = "--bind", paramLabel = "HOST:PORT", defaultValue = WebOptions.DEFAULT_HOST + ":" + WebOptions.DEFAULT_PORT,
            description = "Address to listen on (default: ${DEFAULT-VALUE}; port 0 picks a free one).")
    String bind;

    @Option(names = "--token", paramLabel = "SECRET",
            description = {"Require this secret on every request: header 'Authorization: Bearer SECRET', or open /?token=SECRET once.",
                "Needed to bind beyond loopback. IMGSCALE_TOKEN sets it without showing it in the process list."})
    String token;

    @Option(names = "--max-file-mb", paramLabel = "MB", defaultValue = "20", description = "Largest image accepted (default: ${DEFAULT-VALUE}).")
    long maxFileMb;

    @Option(names = "--max-request-mb", paramLabel = "MB", defaultValue = "100",
            description = "Largest request accepted (default: ${DEFAULT-VALUE}).")
    long maxRequestMb;

    @Option(names = "--max-files", paramLabel = "N", defaultValue = "1000", description = "Most images per request (default: ${DEFAULT-VALUE}).")
    int maxFiles;

    @Option(names = "--result-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "How long POST / waits for its label before answering 504 (default: ${DEFAULT-VALUE}).")
    long resultTimeout;

    @Option(names = "--upload-idle-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = {"An upload body that sends nothing for this long is answered 408 and nothing of it is kept;",
                "also the grace before --min-upload-rate counts, and the longest an upload waits for its turn (default: ${DEFAULT-VALUE})."})
    long uploadIdleTimeout;

    @Option(names = "--min-upload-rate", paramLabel = "KB", defaultValue = "1",
            description = "Slowest average upload accepted, in KiB/s, after the grace; slower is answered 408 (0: none; default: ${DEFAULT-VALUE}).")
    long minUploadRate;

    @Option(names = "--uploads-per-client", paramLabel = "N", defaultValue = "8",
            description = "Upload bodies read at once per client address; more wait their turn (default: ${DEFAULT-VALUE}).")
    int uploadsPerClient;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = context.out();
        String secret = token != null ? token : context.env().get("IMGSCALE_TOKEN");
        if (maxFileMb < 1 || maxRequestMb < 1 || maxFiles < 1 || resultTimeout < 1 || uploadIdleTimeout < 1 || uploadsPerClient < 1) {
            throw new ImgscaleException("--max-file-mb, --max-request-mb, --max-files, --result-timeout, --upload-idle-timeout and"
                    + " --uploads-per-client must be positive.");
        }
        if (minUploadRate < 0) {
            throw new ImgscaleException("--min-upload-rate must be 0 or more.");
        }
        WebOptions options = WebOptions.defaults()
                .withBind(bind)
                .withToken(secret)
                .withLimits(maxFileMb << 20, maxRequestMb << 20, maxFiles)
                .withResultTimeout(Duration.ofSeconds(resultTimeout))
                .withUploads(new UploadPolicy(Duration.ofSeconds(uploadIdleTimeout), minUploadRate * 1024, uploadsPerClient));
        options.checkExposure(); // before the stack is opened: a refused bind should not wait on AWS
        try (StackContext stack = stackOptions.open(context.env())) {
            WebServer server = WebServer.start(stack, options, Time.system());
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                server.close();
                stopped.countDown();
            }, "imgscale-serve-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            out.printf("imgscale serve: %s (stack %s%s%s). Ctrl-C stops it.%n", server.uri(), stack.config().names().stack(),
                    stack.config().local() ? ", local" : "", options.token() == null ? "" : ", token required");
            out.flush();
            stopped.await();
            return ExitCodes.OK;
        }
    }
}
