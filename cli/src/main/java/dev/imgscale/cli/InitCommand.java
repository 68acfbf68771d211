package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.stack.DestroyReport;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.wire.S3Url;
import dev.imgscale.daemon.local.FileParameterStore;
import dev.imgscale.daemon.stack.InitReport;
import dev.imgscale.daemon.port.ParameterStore;
import dev.imgscale.daemon.aws.SsmParameterStore;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.stack.StackProvisioner;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imgscale init}: create the stack's buckets, queues and parameters, idempotently. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Create the stack: private encrypted buckets, the request queue with its dead-letter queue, the result queue,",
            "and the stack's settings in SSM Parameter Store (/imgscale/<stack>/). Running it again changes nothing."})
final class InitCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Option(names = "--model", paramLabel = "NAME", description = "The model the stack's workers run (default: resnet50-int8 on AWS).")
    String model;

    @Option(names = "--max-receives", paramLabel = "N", description = "Receives before a request goes to the dead-letter queue (default: 5).")
    Integer maxReceives;

    @Option(names = "--visibility-timeout", paramLabel = "SECONDS", description = "Request visibility timeout (default: 60).")
    Integer visibilityTimeout;

    @Option(names = "--source-bucket", paramLabel = "BUCKET",
            description = "A bucket whose images workers may read in place (`upload s3://BUCKET/...`); repeat for several.")
    List<String> sourceBuckets;

    @Override
    public Integer call() {
        Map<String, String> extra = new LinkedHashMap<>();
        if (model != null) {
            extra.put("model", model);
        }
        if (maxReceives != null) {
            extra.put("max-receives", String.valueOf(maxReceives));
        }
        if (visibilityTimeout != null) {
            extra.put("visibility-timeout", String.valueOf(visibilityTimeout));
        }
        if (sourceBuckets != null && !sourceBuckets.isEmpty()) {
            for (String bucket : sourceBuckets) {
                try {
                    S3Url.checkBucket(bucket);
                } catch (IllegalArgumentException e) {
                    throw new ImgscaleException("--source-bucket " + e.getMessage(), e);
                }
            }
            extra.put(StackConfig.SOURCE_BUCKETS, String.join(",", sourceBuckets));
        }
        PrintWriter out = context.out();
        try (StackContext stack = stackOptions.open(context.env(), extra)) {
            InitReport report = new StackProvisioner(stack.clients(), parameterStore(stack, context.env())).init(stack.config(), Map.of());
            report.lines().forEach(out::println);
            out.println(report.changedAnything() ? "Stack " + stack.config().names().stack() + " is ready."
                    : "Stack " + stack.config().names().stack() + " was already in place; nothing changed.");
            out.flush();
            return ExitCodes.OK;
        }
    }

    /** Where the stack keeps its settings: SSM on AWS, a file beside the local stack. */
    static ParameterStore parameterStore(StackContext stack, Map<String, String> env) {
        if (stack.config().local()) {
            return new FileParameterStore(StackOpener.runningLocalStack(env).dataDir().resolve("params"));
        }
        return new SsmParameterStore(stack.clients().ssm());
    }

    /** {@code imgscale destroy}: delete everything the stack holds. */
    @Command(name = "destroy", mixinStandardHelpOptions = true,
            description = "Delete the stack: its queues, its buckets with every object in them, and its parameters. Needs --yes.")
    static final class Destroy implements Callable<Integer> {
        @Mixin
        CommandContext context;

        @Mixin
        StackOptions stackOptions;

        @Option(names = {"-y", "--yes"}, description = "Really delete everything.")
        boolean yes;

        @Override
        public Integer call() {
            if (!yes) {
                throw new dev.imgscale.classifier.ImgscaleException("destroy deletes every image, result, queue and setting of the stack; pass --yes to do it.");
            }
            PrintWriter out = context.out();
            try (StackContext stack = stackOptions.open(context.env())) {
                DestroyReport report = new StackProvisioner(stack.clients(), parameterStore(stack, context.env())).destroy(stack.config());
                report.lines().forEach(out::println);
                out.flush();
                return ExitCodes.OK;
            }
        }
    }
}
