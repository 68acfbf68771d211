package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.client.JobClient;
import dev.imgscale.daemon.stack.StackContext;
import java.io.Console;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imgscale reset}: remove one job, or purge the queues and empty the buckets. */
@Command(name = "reset", mixinStandardHelpOptions = true,
        description = {"Remove one job (--job: its images and shards, results and manifest; its queued requests are dropped by the workers),",
            "or everything: purge the queues and empty both buckets. Asks first unless --yes."})
final class ResetCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    StackOptions stackOptions;

    @Option(names = "--job", paramLabel = "ID", description = "Only this job.")
    String job;

    @Option(names = {"-y", "--yes"}, description = "Do not ask.")
    boolean yes;

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        try (StackContext stack = stackOptions.open(context.env())) {
            String what = job != null ? "job " + job + " of stack " + stack.config().names().stack()
                    : "EVERYTHING in stack " + stack.config().names().stack() + " (queues purged; buckets "
                            + stack.config().names().inputBucket() + " and " + stack.config().names().outputBucket() + " emptied)";
            if (!yes) {
                Console console = System.console();
                if (console == null) {
                    throw new ImgscaleException("reset needs --yes when there is no terminal to ask on.");
                }
                String answer = console.readLine("Delete %s? [y/N] ", what);
                if (answer == null || !answer.strip().toLowerCase(Locale.ROOT).startsWith("y")) {
                    out.println("Nothing deleted.");
                    return ExitCodes.FAILURE;
                }
            }
            JobClient.ResetReport report = new JobClient(stack, Clock.systemUTC()).reset(job);
            out.printf("Deleted %d object(s)%s.%n", report.objectsDeleted(), report.queuesPurged() ? " and purged the queues" : "");
            out.flush();
            return ExitCodes.OK;
        }
    }
}
