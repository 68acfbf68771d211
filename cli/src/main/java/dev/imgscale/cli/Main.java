package dev.imgscale.cli;

import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.cost.RequestLog;
import java.nio.file.Path;
import java.time.Duration;

/** The {@code imgscale} binary. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        String requestLog = System.getenv(RequestLog.ENV);
        if (requestLog != null && !requestLog.isBlank()) {
            // every process of a run (uploader, workers, readers) leaves its AWS request counts there
            RequestLog.export(Path.of(requestLog), RequestLedger.process(), Duration.ofSeconds(2));
        }
        System.exit(ImgscaleCommand.commandLine(System.getenv(), args).execute(args));
    }
}
