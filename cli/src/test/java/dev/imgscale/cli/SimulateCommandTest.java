package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code imgscale simulate --interrupt}: the interruption columns appear only with interruptions. */
class SimulateCommandTest {
    @TempDir
    Path dir;

    @Test
    void should_add_the_interruption_columns_only_when_asked_for_interruptions() {
        String svg = dir.resolve("t.svg").toString();
        CliRun with = CliRun.run(CliRun.env(), "simulate", "--trace", "steady:3:600", "--policy", "backlog",
                "--interrupt", "5", "--svg", svg);
        assertEquals(0, with.exitCode(), with.evidence());
        assertTrue(with.out().contains("interruptions: 5.0 per instance-hour, 120 s notice, workers stop receiving at the notice"),
                with.evidence());
        String header = with.out().lines().filter(l -> l.startsWith("policy")).findFirst().orElseThrow();
        assertTrue(header.endsWith("intr  handed  stranded  redone"), with.evidence());
        String row = with.out().lines().filter(l -> l.startsWith("backlog")).findFirst().orElseThrow();
        assertEquals(header.length(), row.length(), "the row lines up with the header\n" + with.evidence());

        CliRun without = CliRun.run(CliRun.env(), "simulate", "--trace", "steady:3:600", "--policy", "backlog", "--svg", svg);
        assertEquals(0, without.exitCode(), without.evidence());
        assertFalse(without.out().contains("intr") || without.out().contains("interruptions:"), without.evidence());
        assertTrue(Files.exists(Path.of(svg)));
    }

    @Test
    void should_refuse_a_negative_rate_in_one_sentence() {
        CliRun run = CliRun.run(CliRun.env(), "simulate", "--trace", "burst:10", "--interrupt", "-1",
                "--svg", dir.resolve("t.svg").toString());
        assertEquals(ExitCodes.FAILURE, run.exitCode(), run.evidence());
        assertTrue(run.err().contains("--interrupt takes interruptions per instance-hour, 0 or more"), run.evidence());
        assertEquals(1, run.err().strip().lines().count(), run.evidence());

        CliRun typo = CliRun.run(CliRun.env(), "simulate", "--trace", "burst:10", "--interrupt", "1", "--on-notice", "later",
                "--svg", dir.resolve("t.svg").toString());
        assertEquals(ExitCodes.FAILURE, typo.exitCode(), typo.evidence());
        assertTrue(typo.err().contains("--on-notice takes stop, fit or ignore, not 'later'."), typo.evidence());
    }
}
