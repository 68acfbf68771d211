package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.testing.StoredResults;
import dev.imgscale.daemon.stack.StackOpener;
import dev.imgscale.daemon.testing.FakeImds;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.worker.Worker;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16's test: a real worker process on the local stack, a fake instance metadata service that
 * announces a Spot interruption while the worker is in the middle of a job, and a second worker for
 * what the first gives back. The visibility timeout is 120 s, so a message the first worker kept
 * without handing it back would sit in flight, out of the second worker's reach, for two minutes.
 */
class WorkerInterruptionIT {
    static final Duration NOTICE = Duration.ofSeconds(15);
    static final Pattern HANDED_BACK = Pattern.compile("stopped \\(Spot interruption\\): .* (\\d+) handed back");

    @Test
    void should_stop_within_the_notice_hand_back_what_does_not_fit_and_leave_every_image_answered_once(@TempDir Path dir)
            throws Exception {
        try (FakeImds imds = FakeImds.start();
             LocalPipeline p = LocalPipeline.start(dir, Map.of("IMGSCALE_VISIBILITY_TIMEOUT", "120",
                     "AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.uri()))) {
            // enough work that the job outlasts the watcher's poll (every 5 s) on a quiet machine too:
            // 112 images were all done before the notice was even seen
            int images = LocalPipeline.copies(dir.resolve("images"), 40).size();
            CliRun up = p.run("upload", "--local", dir.resolve("images").toString());
            assertEquals(0, up.exitCode(), up.evidence());
            String job = up.out().strip();

            Process first = p.worker("--worker-id", "first");
            long waitUntil = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            int seen = 0;
            while (seen == 0 && System.nanoTime() < waitUntil) {
                Thread.sleep(100);
                seen = (int) p.run("results", "--local", "--job", job, "--output", "json").out().lines().count();
            }
            assertTrue(seen > 0, "the first worker produced results\n" + p.workerLog(0));

            // in the middle of the job: EC2 announces the interruption, 15 s ahead
            Instant deadline = Instant.now().plus(NOTICE);
            imds.announceInterruption(deadline);
            assertTrue(first.waitFor(Duration.between(Instant.now(), deadline).toMillis(), TimeUnit.MILLISECONDS),
                    "the worker stopped within the notice\n" + p.workerLog(0));
            assertEquals(0, first.exitValue(), p.workerLog(0));
            String log0 = p.workerLog(0);
            Matcher m = HANDED_BACK.matcher(log0);
            assertTrue(m.find(), "the worker saw the notice\n" + log0);
            int handedBack = Integer.parseInt(m.group(1));

            // nothing is left waiting for its visibility timeout: every request not answered is visible
            JsonNode status = new ObjectMapper().readTree(p.run("status", "--local", "--output", "json").out());
            JsonNode requests = status.path("queues").path("requests");
            int answered = (int) p.run("results", "--local", "--job", job, "--output", "json").out().lines().count();
            assertEquals(0, requests.path("inFlight").asInt(), status + "\n" + log0);
            assertEquals(images - answered, requests.path("visible").asInt(), status.toString());
            assertTrue(answered < images, "interrupted before the job was done (" + answered + " of " + images + ")");

            // a second worker answers the rest at once: well inside the 120 s the first worker's would otherwise wait
            p.env.remove("AWS_EC2_METADATA_SERVICE_ENDPOINT");
            p.env.put("AWS_EC2_METADATA_DISABLED", "true");
            p.worker("--worker-id", "second");
            CliRun follow = p.run("results", "--local", "--job", job, "--follow", "--timeout", "100", "--output", "json");
            assertEquals(0, follow.exitCode(), follow.evidence() + p.workerLog(1));
            // the result objects themselves: which worker wrote each, on which receive
            Map<String, Integer> perName = new HashMap<>();
            int again = 0;
            try (StackContext stack = StackOpener.open(new StackOpener.Request(Map.of(), true, null, p.env))) {
                for (ResultRecord r : StoredResults.rows(stack.output(), job)) {
                    perName.merge(r.name(), 1, Integer::sum);
                    assertFalse(Worker.MISSING.equals(r.error()), r.toString());
                    if (r.worker().equals("second") && r.receives() >= 2) {
                        again++;
                    }
                }
            }
            assertEquals(images, perName.size(), follow.evidence());
            assertEquals(images, follow.out().lines().count(), "one result per image, as results prints them");
            assertTrue(again >= handedBack, "the second worker answered the " + handedBack + " handed back (" + again + " received twice)");
            JsonNode after = new ObjectMapper().readTree(p.run("status", "--local", "--output", "json").out());
            assertEquals(0, after.path("queues").path("deadLetters").path("visible").asInt(), after.toString());
            System.out.println("interrupted with " + answered + " of " + images + " answered, " + handedBack + " handed back; "
                    + again + " answered by the second worker on a later receive");
        }
    }
}
