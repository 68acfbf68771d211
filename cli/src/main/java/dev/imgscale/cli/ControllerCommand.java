package dev.imgscale.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.controller.BacklogPolicy;
import dev.imgscale.daemon.controller.Controller;
import dev.imgscale.daemon.controller.ControllerEvent;
import dev.imgscale.daemon.controller.ControllerLoop;
import dev.imgscale.daemon.port.ControllerLease;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.stack.StackContext;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imgscale controller}: the daemon that scales the workers with the work. */
@Command(name = "controller", mixinStandardHelpOptions = true,
        description = {"Scale the stack's workers from 0 up to --max with the queue, and back to 0 when the work is done.",
            "Drains a worker before terminating it; rebuilds its view from the fleet every tick, so a restart loses nothing.",
            "Stopping it leaves the workers running (they exit by themselves after --worker-idle-exit)."})
final class ControllerCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger("dev.imgscale.controller");

    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Option(names = "--fleet", defaultValue = "ec2", paramLabel = "KIND", description = "ec2, or local (worker processes on this machine; needs --local) (default: ${DEFAULT-VALUE}).")
    String fleetKind;

    @Option(names = "--max", defaultValue = "19", paramLabel = "N", description = "The most workers (default: ${DEFAULT-VALUE}).")
    int max;

    @Option(names = "--target-latency", defaultValue = "30", paramLabel = "SECONDS", description = "Finish the backlog within this long (default: ${DEFAULT-VALUE}).")
    double targetLatency;

    @Option(names = "--interval", defaultValue = "2", paramLabel = "SECONDS", description = "Seconds between ticks (default: ${DEFAULT-VALUE}).")
    double interval;

    @Option(names = "--boot-estimate", paramLabel = "SECONDS", description = "Boot time until measured (default: 25 on EC2, 3 + --boot-delay locally).")
    Double bootEstimate;

    @Option(names = "--service-estimate", defaultValue = "0.3", paramLabel = "SECONDS", description = "Time per image until measured (default: ${DEFAULT-VALUE}).")
    double serviceEstimate;

    @Option(names = "--boot-delay", defaultValue = "0", paramLabel = "SECONDS", description = "Local fleet: each worker waits this long first, like a booting instance.")
    double bootDelay;

    @Option(names = "--worker-idle-exit", defaultValue = "300", paramLabel = "SECONDS", description = "Local fleet: workers exit after this long idle even with no controller (default: ${DEFAULT-VALUE}).")
    long workerIdleExit;

    @Option(names = "--events", paramLabel = "FILE", description = "Also append each event (launch, drain, terminate, ...) as a JSON line to FILE.")
    Path events;

    @Override
    public Integer call() throws InterruptedException {
        if (max < 0 || max > 1000) {
            throw new ImgscaleException("--max must be between 0 and 1000.");
        }
        try (StackContext stack = stackOptions.open(context.env());
             EventSink sink = new EventSink(events)) {
            Fleet fleet = FleetWiring.fleet(fleetKind, stack, context.env(), bootDelay, workerIdleExit);
            double boot = bootEstimate != null ? bootEstimate : "local".equals(fleetKind) ? 3 + bootDelay : 25;
            Controller.Settings settings = new Controller.Settings(max, Duration.ofMillis((long) (serviceEstimate * 1000)),
                    Duration.ofMillis((long) (boot * 1000)), Duration.ofSeconds(30), Duration.ofMillis((long) (Math.max(60, boot * 4) * 1000)),
                    false);
            BacklogPolicy policy = new BacklogPolicy(Duration.ofMillis((long) (targetLatency * 1000)), Duration.ofSeconds(10));
            Controller controller = new Controller(fleet, () -> stack.requests().depth(), new ObjectStoreWorkerBoard(stack.output()),
                    policy, Clock.systemUTC(), settings, sink);
            ControllerLease lease = FleetWiring.lease(fleetKind, stack, context.env());
            ControllerLoop loop = new ControllerLoop(controller, lease, Duration.ofMillis((long) (interval * 1000)));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                loop.beginShutdown();
                try {
                    loop.awaitShutdown(Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "imgscale-controller-stop"));
            LOG.info("Controller for stack {} ({} fleet, max {}, target latency {} s)", stack.config().names().stack(), fleet.kind(), max,
                    targetLatency);
            loop.run();
            return ExitCodes.OK;
        }
    }

    /** Logs every event, and appends it as JSON to a file when asked. */
    static final class EventSink implements Consumer<ControllerEvent>, AutoCloseable {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final Writer file;

        EventSink(Path path) {
            try {
                this.file = path == null ? null : Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new ImgscaleException("Cannot write the event log " + path + ": " + e.getMessage(), e);
            }
        }

        @Override
        public synchronized void accept(ControllerEvent e) {
            if (e.kind() != ControllerEvent.Kind.DECIDE) {
                LOG.info("{}", e);
            }
            if (file != null) {
                try {
                    file.write(JSON.createObjectNode().put("at", e.at().toString()).put("kind", e.kind().name()).put("worker", e.worker())
                            .put("phase", e.phase() == null ? null : e.phase().fleetName()).put("inHand", e.inHand()).put("reason", e.reason())
                            .toString() + "\n");
                    file.flush();
                } catch (IOException ex) {
                    LOG.warn("Cannot write the event log: {}", ex.toString());
                }
            }
        }

        @Override
        public synchronized void close() {
            if (file != null) {
                try {
                    file.close();
                } catch (IOException ignored) {
                    // the events were flushed one by one
                }
            }
        }
    }
}
