package dev.imgscale.cli;

import picocli.CommandLine.Option;

/** {@code -v/--verbose}: log more (repeat for debug). Logging is configured before any logger exists. */
public final class VerboseMixin {
    private static volatile boolean verbose;

    @Option(names = {"-v", "--verbose"}, description = "Log more: -v for progress, -vv for debug detail.")
    void setVerbose(boolean[] flags) {
        verbose = flags.length > 0;
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", flags.length > 1 ? "debug" : "info");
        System.setProperty("org.slf4j.simpleLogger.log.dev.imgscale", flags.length > 1 ? "debug" : "info");
    }

    static boolean isVerbose() {
        return verbose;
    }
}
