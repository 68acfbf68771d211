package dev.imgscale.cli;

import picocli.CommandLine.Option;

/** {@code --output text|json|csv}. */
public final class OutputMixin {
    @Option(names = {"-o", "--output"}, defaultValue = "text", paramLabel = "FORMAT",
            description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}); course prints (name, label).")
    OutputFormat format;

    public OutputFormat format() {
        return format;
    }
}
