package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.TestAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A newcomer's first run, {@code bin/imgscale demo}, as a user runs it: the terminal shows the
 * demo's own lines and the labels; the logs go to files the demo names, or to the terminal with -v.
 */
class DemoIT {
    private static final Pattern LOG_FOLDER = Pattern.compile("imgscale demo: logs in (\\S+): ");
    private static final Pattern LAUNCH = Pattern.compile("imgscale demo: controller: launch (\\S+)");

    @Test
    void should_show_only_its_own_lines_and_the_labels_and_name_the_files_the_logs_went_to() throws Exception {
        String[] r = JarSmokeIT.launch("demo");
        String evidence = "exit " + r[0] + "\n--- stdout ---\n" + r[1] + "--- stderr ---\n" + r[2];
        assertEquals("0", r[0], evidence);

        List<String[]> expected = TestAssets.expected();
        List<String> labels = r[1].lines().toList();
        assertEquals(expected.size(), labels.size(), evidence);
        for (String[] row : expected) {
            assertTrue(labels.stream().anyMatch(l -> l.startsWith(row[0] + "\t")), "no label for " + row[0] + "\n" + evidence);
        }
        for (String line : r[2].lines().toList()) {
            assertTrue(line.startsWith("imgscale demo: "), "a line on the terminal that is not the demo's own: " + line + "\n" + evidence);
        }

        Matcher folder = LOG_FOLDER.matcher(r[2]);
        assertTrue(folder.find(), evidence);
        Path logs = Path.of(folder.group(1));
        String controllerLog = Files.readString(logs.resolve("controller.log"));
        assertTrue(controllerLog.contains("INFO ControllerLoop - Holding the lease"), controllerLog);
        Matcher launch = LAUNCH.matcher(r[2]);
        int workers = 0;
        int served = 0;
        while (launch.find()) {
            workers++;
            Path workerLog = logs.resolve(launch.group(1) + ".log");
            assertTrue(Files.isRegularFile(workerLog), workerLog + " missing\n" + evidence);
            served += Files.readString(workerLog).contains("Worker " + launch.group(1) + " polling") ? 1 : 0;
        }
        assertTrue(workers > 0, evidence);
        assertTrue(served > 0, "no worker log shows a worker polling\n" + evidence);
        // the stack's data is gone, the logs stay
        try (var left = Files.list(logs.getParent())) {
            assertEquals(List.of(logs), left.toList());
        }
    }

    @Test
    void should_show_the_controllers_and_the_workers_logs_on_the_terminal_with_v() throws Exception {
        String[] r = JarSmokeIT.launch("demo", "-v", TestAssets.images().resolve("parrot.jpg").toString());
        String evidence = "exit " + r[0] + "\n--- stdout ---\n" + r[1] + "--- stderr ---\n" + r[2];
        assertEquals("0", r[0], evidence);
        String top1 = TestAssets.expected().stream().filter(row -> row[0].equals("parrot.jpg")).findFirst().orElseThrow()[1];
        assertEquals(1, r[1].lines().count(), evidence);
        assertTrue(r[1].startsWith("parrot.jpg\t" + top1 + " ("), evidence);
        assertTrue(r[2].contains("INFO ControllerLoop - Holding the lease"), evidence);
        assertTrue(r[2].contains("INFO WorkerRuntime - Worker ready"), evidence);
        assertFalse(LOG_FOLDER.matcher(r[2]).find(), evidence);
    }
}
