package dev.imgscale.cli;

import picocli.CommandLine.Option;

/** {@code -v/--verbose}: log more (repeat for debug). Logging is configured before any logger exists. */
public final class VerboseMixin {
    private static volatile boolean verbose;

    private boolean given;

    @Option(names = {"-v", "--verbose"}, description = "Log more: -v for progress, -vv for debug detail.")
    void setVerbose(boolean[] flags) {
        given = flags.length > 0;
        verbose = given;
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", flags.length > 1 ? "debug" : "info");
        System.setProperty("org.slf4j.simpleLogger.log.dev.imgscale", flags.length > 1 ? "debug" : "info");
    }

    /** Whether this command was given {@code -v}. */
    boolean given() {
        return given;
    }

    static boolean isVerbose() {
        return verbose;
    }
}
