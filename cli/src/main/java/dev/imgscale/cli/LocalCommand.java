package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.local.LocalStackState;
import dev.imgscale.daemon.stack.ConfigLoader;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.stack.StackProvisioner;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code imgscale local up}: the embedded S3 and SQS on this machine, for --local commands. */
@Command(name = "local", mixinStandardHelpOptions = true, description = "Run the embedded local stack (S3 and SQS on this machine).",
        subcommands = {LocalCommand.Up.class})
final class LocalCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = {"Run an S3-compatible server (S3Proxy on a folder) and an SQS-compatible server (ElasticMQ) on 127.0.0.1,",
                "create the stack in them, and stay in the foreground until Ctrl-C or SIGTERM. Other commands reach it with --local.",
                "Objects are kept in the folder; queues live in memory and are created again at each start."})
    static final class Up implements Callable<Integer> {
        @Mixin
        CommandContext context;

        @Option(names = "--dir", paramLabel = "DIR", description = "Where objects are kept (default: ~/.imgscale/local, or $IMGSCALE_HOME/local).")
        Path dir;

        @Option(names = "--s3-port", paramLabel = "PORT", defaultValue = "0", description = "S3 port (default: any free port).")
        int s3Port;

        @Option(names = "--sqs-port", paramLabel = "PORT", defaultValue = "0", description = "SQS port (default: any free port).")
        int sqsPort;

        @Option(names = "--stack", paramLabel = "NAME", description = "Stack name (default: imgscale).")
        String stack;

        @Option(names = "--model", paramLabel = "NAME", description = "The model the stack's workers run (default: mobilenet-v2-int8).")
        String model;

        @Override
        public Integer call() throws InterruptedException {
            Map<String, String> env = context.env();
            PrintWriter out = context.out();
            Path stateFile = StackOpener.localStateFile(env);
            Optional<LocalStackState> existing;
            try {
                existing = LocalStack.readState(stateFile);
            } catch (IllegalStateException e) {
                existing = Optional.empty();
            }
            if (existing.isPresent() && existing.get().isProcessAlive()) {
                throw new ImgscaleException("A local stack is already running (process " + existing.get().pid() + ", S3 at "
                        + existing.get().s3Endpoint() + "); stop it first, or use it with --local.");
            }
            Path data = dir != null ? dir : StackOpener.localDir(env);
            LocalStack local;
            try {
                local = LocalStack.start(data, sqsPort, s3Port);
            } catch (IllegalStateException e) {
                throw new ImgscaleException(e.getMessage(), e);
            }
            CountDownLatch stopped = new CountDownLatch(1);
            AwsClients clients = new AwsClients(local.settings());
            Thread hook = new Thread(() -> {
                clients.close();
                local.close();
                stopped.countDown();
            }, "imgscale-local-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            Map<String, String> flags = new java.util.LinkedHashMap<>();
            if (stack != null) {
                flags.put("stack", stack);
            }
            if (model != null) {
                flags.put("model", model);
            }
            Map<String, String> values = ConfigLoader.merge(List.of(flags, ConfigLoader.fromEnvironment(env)), null);
            StackConfig config = StackProvisioner.initLocal(local, clients, values);
            local.writeState(stateFile);
            out.printf("imgscale local stack ready: stack %s, S3 %s, SQS %s, objects in %s, model %s. Ctrl-C stops it.%n",
                    config.names().stack(), local.s3Endpoint(), local.sqsEndpoint(), local.dataDir().resolve("s3"), config.model());
            out.flush();
            stopped.await();
            return ExitCodes.OK;
        }
    }
}
