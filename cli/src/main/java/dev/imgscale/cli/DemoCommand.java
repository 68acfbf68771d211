package dev.imgscale.cli;

import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.classifier.catalog.AssetSpec;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.client.UploadItem;
import dev.imgscale.daemon.client.UploadListener;
import dev.imgscale.daemon.client.UploadReport;
import dev.imgscale.daemon.controller.BacklogPolicy;
import dev.imgscale.daemon.controller.Controller;
import dev.imgscale.daemon.controller.ControllerEvent;
import dev.imgscale.daemon.controller.ControllerLoop;
import dev.imgscale.daemon.cost.RequestCostReport;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLog;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.local.FileLease;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.local.LocalProcessFleet;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.stack.StackProvisioner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code imgscale demo}: the whole system on this machine in one command: the local stack, a
 * controller with a fleet of worker processes, an upload, the labels as they come, a summary, and
 * nothing left running.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the whole system on this machine: start the local stack and a controller with worker processes (0 up to --max),",
            "upload DIR (default: the development images), print the labels as they come, then a summary; leaves nothing running."})
final class DemoCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    OutputMixin output;

    @Option(names = "--max", defaultValue = "4", paramLabel = "N", description = "The most workers (default: ${DEFAULT-VALUE}).")
    int max;

    @Option(names = "--target-latency", defaultValue = "10", paramLabel = "SECONDS",
            description = "The controller's target for finishing the backlog (default: ${DEFAULT-VALUE}).")
    double targetLatency;

    @Parameters(arity = "0..1", paramLabel = "DIR", description = "A folder of images (default: the development images).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        long start = System.nanoTime();
        List<UploadItem> items = images(err);
        Path home = Files.createTempDirectory("imgscale-demo");
        Map<String, String> env = new HashMap<>(context.env());
        env.put("IMGSCALE_HOME", home.toString());
        // the worker processes leave their request counts here for the summary
        env.put(RequestLog.ENV, home.resolve("requests").toString());
        try (DemoLogs logs = context.verbose() ? DemoLogs.toTerminal() : DemoLogs.toFolder(home.resolve("logs"))) {
            logs.folder().ifPresent(f -> {
                err.println("imgscale demo: logs in " + f + ": the controller's in " + DemoLogs.CONTROLLER_LOG
                        + ", each worker's in <worker>.log (-v shows them here instead)");
                err.flush();
            });
            try {
                return run(items, env, home, logs, start, out, err);
            } finally {
                // the stack's data goes; the logs stay for reading
                deleteTree(home, logs.folder());
            }
        }
    }

    private int run(List<UploadItem> items, Map<String, String> env, Path home, DemoLogs logs, long start, PrintWriter out, PrintWriter err)
            throws Exception {
        LocalStack local = LocalStack.start(StackOpener.localDir(env), 0, 0);
        try (AwsClients clients = new AwsClients(local.settings())) {
            StackConfig config = StackProvisioner.initLocal(local, clients, Map.of());
            local.writeState(StackOpener.localStateFile(env));
            StackContext stack = new StackContext(config, clients);
            RequestCounts afterInit = clients.requests().snapshot();
            LocalProcessFleet fleet = new LocalProcessFleet(FleetWiring.localRegistry(env, config.names().stack()), logs.folder(),
                    config.names().stack(), FleetWiring.localWorkerCommand(stack, 0, 120), env, Clock.systemUTC());
            err.printf("imgscale demo: local stack up (S3 %s, SQS %s); controller with up to %d worker processes%n", local.s3Endpoint(),
                    local.sqsEndpoint(), max);
            err.flush();
            Controller controller = new Controller(fleet, () -> stack.requests().depth(), new ObjectStoreWorkerBoard(stack.output()),
                    new BacklogPolicy(Duration.ofMillis((long) (targetLatency * 1000)), Duration.ofSeconds(10)), Clock.systemUTC(),
                    new Controller.Settings(max, Duration.ofMillis(100), Duration.ofSeconds(3), Duration.ofSeconds(30), Duration.ofSeconds(90),
                            false), e -> {
                        if (e.kind() == ControllerEvent.Kind.LAUNCH || e.kind() == ControllerEvent.Kind.TERMINATE
                                || e.kind() == ControllerEvent.Kind.DRAIN) {
                            err.println("imgscale demo: controller: " + e.kind().name().toLowerCase(Locale.ROOT) + " " + e.worker());
                            err.flush();
                        }
                    });
            ControllerLoop loop = new ControllerLoop(controller, new FileLease(home.resolve("controller.lock")), Duration.ofSeconds(1));
            Thread loopThread = new Thread(loop, "imgscale-demo-controller");
            Sampler sampler = new Sampler(fleet);
            // stopped before the clients close: a tick after that would fail on closed clients
            try {
                loopThread.start();
                sampler.start();
                JobClient client = new JobClient(stack, Clock.systemUTC());
                UploadReport report = client.upload(items, 8, UploadListener.NONE);
                err.printf("imgscale demo: uploaded %d images as job %s%n", report.queued(), report.job());
                err.flush();
                ResultWriter writer = new ResultWriter(out, output.format());
                JobProgress outcome = client.follow(report.job(), writer::write, Duration.ofMillis(500), Duration.ofMinutes(20),
                        () -> false);
                writer.finish();
                double labelled = (System.nanoTime() - start) / 1e9;
                // the controller takes the fleet back to zero by itself; wait for it, then stop
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!fleet.list().isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(250);
                }
                double zero = (System.nanoTime() - start) / 1e9 - labelled;
                sampler.stop();
                err.printf(Locale.ROOT, "imgscale demo: %d images, %d failed, %.1f s to the last label; peak %d workers, %.0f worker-seconds; "
                                + "fleet back to zero %.1f s after the last label%n", outcome.total(), outcome.failed(), labelled,
                        sampler.peak.get(), sampler.workerSeconds(), zero);
                // this process's requests since init (upload, follow, controller) and the workers'
                RequestCounts sent = clients.requests().snapshot().minus(afterInit).plus(RequestLog.total(home.resolve("requests")));
                // fixed costs (the controller's polls, the workers' status reports) weigh heavily in a small demo
                err.println("imgscale demo: " + new RequestCostReport(sent, RequestPrices.US_EAST_1, outcome.total()).oneLine()
                        + " (upload, labels, controller and workers, after init)");
                err.flush();
                return outcome.failed() > 0 ? ExitCodes.PARTIAL : outcome.complete() ? ExitCodes.OK : ExitCodes.INCOMPLETE;
            } finally {
                sampler.stop();
                loop.beginShutdown();
                loopThread.join(10_000);
                List<String> left = fleet.list().stream().map(FleetInstance::id).toList();
                if (!left.isEmpty()) {
                    fleet.terminate(left);
                }
            }
        } finally {
            local.close();
        }
    }

    private List<UploadItem> images(PrintWriter err) throws IOException {
        List<UploadItem> items = new ArrayList<>();
        if (dir != null) {
            // a demo's folder is small: its items are listed once, the names made unique by the upload
            new UploadSources(List.of(dir.toString()), null, f -> err.println("imgscale demo: skipping " + f + ": not an image"))
                    .forEach(items::add);
            return items;
        }
        AssetResolver resolver = AssetResolver.fromEnvironment(context.env());
        ImageNames names = new ImageNames();
        for (AssetSpec a : ModelCatalog.builtIn().dataset("dev-images")) {
            Path file = resolver.resolve(a, new ProgressBarListener(err));
            items.add(new UploadItem(file, names.unique(a.file()), Files.size(file)));
        }
        return items;
    }

    /** Deletes the demo's folder, all but {@code keep}. */
    private static void deleteTree(Path root, Optional<Path> keep) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).filter(p -> keep.isEmpty() || !p.startsWith(keep.get()))
                    .filter(p -> keep.isEmpty() || !p.equals(root)).forEach(p -> {
                        try {
                            Files.deleteIfExists(p);
                        } catch (IOException ignored) {
                            // a temp folder; the OS cleans it eventually
                        }
                    });
        } catch (IOException ignored) {
            // as above
        }
    }

    /** Watches the fleet for the summary: peak workers and worker-seconds. */
    private static final class Sampler {
        final AtomicInteger peak = new AtomicInteger();
        private final LocalProcessFleet fleet;
        private final Map<String, Instant[]> lives = new HashMap<>();
        private volatile boolean running = true;

        Sampler(LocalProcessFleet fleet) {
            this.fleet = fleet;
        }

        void start() {
            DaemonThreads.start("imgscale-demo-sampler", () -> {
                while (running) {
                    List<FleetInstance> now = fleet.list();
                    peak.accumulateAndGet(now.size(), Math::max);
                    synchronized (lives) {
                        for (FleetInstance i : now) {
                            lives.computeIfAbsent(i.id(), k -> new Instant[] {i.launchedAt(), Instant.now()})[1] = Instant.now();
                        }
                    }
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        void stop() {
            running = false;
        }

        double workerSeconds() {
            synchronized (lives) {
                return lives.values().stream().mapToDouble(l -> Duration.between(l[0], l[1]).toMillis() / 1000.0).sum();
            }
        }
    }
}
