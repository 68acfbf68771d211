package dev.imgscale.cli;

import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.worker.InstanceFacts;
import dev.imgscale.daemon.worker.InstanceIdentity;
import dev.imgscale.daemon.worker.UsageRecorder;
import dev.imgscale.daemon.worker.Worker;
import dev.imgscale.daemon.worker.WorkerBeacon;
import dev.imgscale.daemon.worker.WorkerRuntime;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imgscale worker}: the daemon that classifies the stack's requests. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = {"Classify the stack's requests until stopped: long-poll the request queue, download, classify as a batch,",
            "write each result, then delete the requests. SIGTERM finishes the images in hand and exits 0."})
final class WorkerCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Option(names = "--model", paramLabel = "NAME", description = "Run this model instead of the stack's.")
    String model;

    @Mixin
    EngineOptions engineOptions;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "10", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--downloads", paramLabel = "N", defaultValue = "0", description = "Images downloaded at once (default: 8).")
    int downloads;

    @Option(names = "--decode-threads", paramLabel = "N|auto", defaultValue = "auto", converter = DecodeThreads.class,
            description = "Images decoded at once, overlapped with inference (default: ${DEFAULT-VALUE}: chosen, and re-chosen as "
                    + "jobs change, from the measured decode and inference times per image).")
    int decodeThreads;

    @Option(names = "--idle-exit", paramLabel = "SECONDS", description = "Exit after this long without work (a safety net for fleets).")
    Long idleExit;

    @Option(names = "--flush-images", paramLabel = "N", defaultValue = "100",
            description = "Write results as one object once this many wait (default: ${DEFAULT-VALUE}); fewer objects cost fewer S3 PUTs.")
    int flushImages;

    @Option(names = "--flush-seconds", paramLabel = "SECONDS", defaultValue = "5",
            description = "Write waiting results at the latest this long after the oldest was classified (default: ${DEFAULT-VALUE}).")
    double flushSeconds;

    @Option(names = "--worker-id", paramLabel = "ID|imds",
            description = "Report to the controller under this fleet id (imds: this EC2 instance's id); also IMGSCALE_WORKER_ID.")
    String workerId;

    @Option(names = "--boot-delay", paramLabel = "SECONDS", defaultValue = "0", hidden = true,
            description = "Wait this long first, like a booting instance (the local fleet's stand-in for boot time).")
    double bootDelay;

    /** {@code auto} or 0: chosen from measurements; else a positive count. */
    static final class DecodeThreads implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            String v = value.trim();
            if (v.equalsIgnoreCase("auto")) {
                return 0;
            }
            try {
                int n = Integer.parseInt(v);
                if (n >= 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // the sentence below
            }
            throw new CommandLine.TypeConversionException("--decode-threads takes a number of threads (0 or auto to choose), not '"
                    + value + "'");
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        String id = workerId != null ? workerId : context.env().get("IMGSCALE_WORKER_ID");
        if ("imds".equals(id)) {
            id = InstanceIdentity.fromImds(context.env());
        }
        if (flushImages < 1 || flushSeconds < 0) {
            throw new dev.imgscale.classifier.ImgscaleException("--flush-images must be at least 1 and --flush-seconds at least 0.");
        }
        if (bootDelay > 0) {
            Thread.sleep((long) (bootDelay * 1000));
        }
        try (StackContext stack = stackOptions.open(context.env())) {
            WorkerRuntime.Settings settings = WorkerRuntime.Settings.defaults()
                    .withModel(model)
                    .withClassifier(engineOptions.options().withBatchSize(batch))
                    .withIdleExit(idleExit == null ? null : Duration.ofSeconds(idleExit))
                    .withDownloadConcurrency(downloads)
                    .withDecodeThreads(decodeThreads)
                    .withWorkerId(id)
                    .withFlush(flushImages, Duration.ofMillis(Math.round(flushSeconds * 1000)));
            try (WorkerRuntime runtime = WorkerRuntime.open(stack, context.env(), settings,
                    new ProgressBarListener(context.err()))) {
                runtime.installSignalHandlers();
                Worker worker = runtime.worker();
                if (id == null) {
                    worker.run();
                    return ExitCodes.OK;
                }
                // a fleet worker: report to the controller, drain when it says so, and keep the usage
                // record a job's cost is computed from (closed last: it has the final counts)
                InstanceFacts facts = stack.config().local() ? InstanceFacts.LOCAL_PROCESS : InstanceFacts.detect(context.env());
                try (UsageRecorder usage = new UsageRecorder(worker, stack.output(), id, facts, RequestLedger.process(), Time.system());
                     WorkerBeacon beacon = new WorkerBeacon(worker, new ObjectStoreWorkerBoard(stack.output()), id, Clock.systemUTC())) {
                    usage.start();
                    beacon.start(Duration.ofSeconds(2));
                    worker.run();
                }
                return ExitCodes.OK;
            }
        }
    }
}
