package dev.imgscale.cli;

import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Which stack a command works on, and how to reach it: shared by every pipeline command. */
public final class StackOptions {
    @Option(names = "--stack", paramLabel = "NAME", description = "Stack name; it determines every bucket and queue name (default: imgscale).")
    String stack;

    @Option(names = "--local", description = "Use the local stack that `imgscale local up` runs (embedded S3 and SQS on this machine).")
    boolean local;

    @Option(names = "--region", paramLabel = "REGION", description = "AWS region (default: the AWS SDK's chain: AWS_REGION, ~/.aws/config).")
    String region;

    @Option(names = "--profile", paramLabel = "NAME", description = "AWS profile from ~/.aws/config.")
    String profile;

    @Option(names = "--config", paramLabel = "SOURCE",
            description = "Settings: ssm:/imgscale/<stack> (SSM Parameter Store) or a file (default: ~/.config/imgscale/config).")
    String config;

    /** Flags given as configuration keys. */
    Map<String, String> flags() {
        Map<String, String> flags = new LinkedHashMap<>();
        if (stack != null) {
            flags.put("stack", stack);
        }
        if (region != null) {
            flags.put("region", region);
        }
        if (profile != null) {
            flags.put("profile", profile);
        }
        return flags;
    }

    StackContext open(Map<String, String> env) {
        return open(env, Map.of());
    }

    /** Opens the stack with extra configuration keys given by the command's own flags. */
    StackContext open(Map<String, String> env, Map<String, String> extra) {
        Map<String, String> flags = flags();
        flags.putAll(extra);
        return StackOpener.open(new StackOpener.Request(flags, local, config, env));
    }
}
