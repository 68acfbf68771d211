package dev.imgscale.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;

/**
 * docs/commands.md: every command's {@code --help}, as the binary prints it. Regenerate after
 * changing an option or a description:
 * {@code mvn -B -q -o -pl cli -am test -Dtest=CommandsDocTest -Dsurefire.failIfNoSpecifiedTests=false -Dimgscale.writeDocs=true}
 */
final class CommandsDoc {
    static final String FILE = "docs/commands.md";

    private CommandsDoc() {
    }

    static String render() {
        StringBuilder doc = new StringBuilder();
        doc.append("# Command reference\n\n")
                .append("Every command's `--help`, generated from the commands themselves (`CommandsDocTest` fails when this file\n")
                .append("is out of date, and says how to regenerate it). What the commands do, in prose: [guide.md](guide.md).\n");
        append(doc, ImgscaleCommand.commandLine(Map.of()), "imgscale");
        return doc.toString();
    }

    private static void append(StringBuilder doc, CommandLine command, String path) {
        if (command.getCommandSpec().usageMessage().hidden()) {
            return;
        }
        doc.append("\n## `").append(path).append("`\n\n```\n")
                .append(command.getUsageMessage(CommandLine.Help.Ansi.OFF).stripTrailing()).append("\n```\n");
        for (Map.Entry<String, CommandLine> sub : command.getSubcommands().entrySet()) {
            // aliases map to the same command: list it once, under its name
            if (sub.getKey().equals(sub.getValue().getCommandName())) {
                append(doc, sub.getValue(), path + " " + sub.getKey());
            }
        }
    }

    static Path file() {
        return Path.of(System.getProperty("imgscale.repo", "..")).resolve(FILE);
    }

    static void write() throws IOException {
        Files.writeString(file(), render(), StandardCharsets.UTF_8);
    }
}
