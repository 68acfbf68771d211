package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** docs/commands.md says what {@code --help} says. */
class CommandsDocTest {
    @Test
    void should_match_every_commands_help() throws Exception {
        if (Boolean.getBoolean("imgscale.writeDocs")) {
            CommandsDoc.write();
        }
        String doc = Files.readString(CommandsDoc.file(), StandardCharsets.UTF_8);
        assertEquals(CommandsDoc.render(), doc, CommandsDoc.FILE + " is out of date: regenerate it as CommandsDoc says");
    }

    @Test
    void should_hold_each_commands_help_as_the_binary_prints_it() {
        CliRun run = CliRun.run(CliRun.env(), "upload", "--help");
        assertEquals(0, run.exitCode(), run.evidence());
        assertTrue(CommandsDoc.render().contains("## `imgscale upload`\n\n```\n" + run.out().stripTrailing() + "\n```\n"), run.evidence());
    }
}
