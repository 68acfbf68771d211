package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller with the local-process fleet, each a real process: it scales from 0 to the cap
 * for a burst and back to 0, never terminates a busy worker, and survives being killed mid-burst.
 */
class LocalFleetIT {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Samples the fleet's registry: the most workers at once, and every pid seen. */
    static final class Watch implements AutoCloseable {
        final AtomicInteger peak = new AtomicInteger();
        final Set<Long> pids = ConcurrentSet.create();
        private final Path registry;
        private volatile boolean running = true;
        private final Thread thread;

        Watch(Path registry) {
            this.registry = registry;
            thread = new Thread(() -> {
                while (running) {
                    List<JsonNode> now = records(registry);
                    peak.accumulateAndGet(now.size(), Math::max);
                    now.forEach(r -> pids.add(r.path("pid").asLong()));
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            thread.setDaemon(true);
            thread.start();
        }

        int current() {
            return records(registry).size();
        }

        @Override
        public void close() {
            running = false;
        }
    }

    static final class ConcurrentSet {
        static <T> Set<T> create() {
            return java.util.concurrent.ConcurrentHashMap.newKeySet();
        }
    }

    static List<JsonNode> records(Path registry) {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.isDirectory(registry)) {
            return out;
        }
        try (Stream<Path> files = Files.list(registry)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
                try {
                    out.add(JSON.readTree(Files.readAllBytes(f)));
                } catch (IOException e) {
                    // being written or deleted
                }
            }
        } catch (IOException e) {
            // the folder is being created
        }
        return out;
    }

    static Process controller(LocalPipeline p, Path events, String log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "controller", "--local", "--fleet", "local", "--max", "4",
                "--target-latency", "3", "--interval", "1", "--worker-idle-exit", "120", "--events", events.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().putAll(p.env);
        pb.redirectErrorStream(true).redirectOutput(p.home.resolve(log).toFile());
        return pb.start();
    }

    static void assertNoBusyWorkerTerminated(Path events) throws IOException {
        int terminations = 0;
        for (String line : Files.readAllLines(events)) {
            JsonNode e = JSON.readTree(line);
            String kind = e.path("kind").asText();
            assertTrue(!kind.equals("KILL"), line);
            if (kind.equals("TERMINATE")) {
                terminations++;
                assertEquals(0, e.path("inHand").asInt(), "a terminated worker held nothing: " + line);
                assertTrue(!e.path("phase").asText().equals("BUSY") && !e.path("phase").asText().equals("IDLE"), line);
            }
        }
        assertTrue(terminations >= 0);
    }

    static void awaitZero(Watch watch, Path evidence) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (watch.current() > 0) {
            assertTrue(System.nanoTime() < deadline, "the fleet did not get back to zero:\n" + Files.readString(evidence));
            Thread.sleep(200);
        }
    }

    @Test
    void should_scale_from_zero_to_the_cap_for_a_burst_and_back_to_zero(@TempDir Path dir) throws Exception {
        try (LocalPipeline p = LocalPipeline.start(dir, Map.of());
             Watch watch = new Watch(FleetWiring.localRegistry(p.env, "imgscale"))) {
            Path events = dir.resolve("events.jsonl");
            Process controller = controller(p, events, "controller.log");
            try {
                List<Path> images = LocalPipeline.copies(dir.resolve("images"), 7);
                CliRun up = p.run("upload", "--local", "--wait", "--timeout", "300", "--output", "csv", dir.resolve("images").toString());
                assertEquals(0, up.exitCode(), up.evidence() + Files.readString(p.home.resolve("controller.log")));
                Set<String> names = new HashSet<>();
                up.out().lines().skip(1).forEach(l -> assertTrue(names.add(l.split(",")[0]), "one result per image: " + l));
                assertEquals(images.size(), names.size(), up.evidence());
                assertTrue(up.err().contains("imgscale: cost: " + images.size() + " images on "), "the job's cost at its end: " + up.evidence());
                awaitZero(watch, p.home.resolve("controller.log"));
                assertEquals(4, watch.peak.get(), "scaled to the cap\n" + Files.readString(p.home.resolve("controller.log")));
                // every worker's last usage record is written as it stops: the job's cost is complete
                CliRun status = p.run("status", "--local", "--output", "json");
                JsonNode cost = new ObjectMapper().readTree(status.out()).path("jobs").get(0).path("cost");
                assertEquals(images.size(), cost.path("images").asInt(), status.evidence());
                assertTrue(cost.path("workers").asInt() >= 1 && cost.path("workers").asInt() <= 4, status.evidence());
                assertTrue(cost.path("workerSeconds").asDouble() > 0, status.evidence());
                assertTrue(cost.path("instanceSeconds").asDouble() >= cost.path("workerSeconds").asDouble(), status.evidence());
                assertEquals(0.0, cost.path("computeUsd").asDouble(), "local worker processes cost no instance: " + status.evidence());
                assertTrue(cost.path("requests").asLong() > 0, status.evidence());
                assertNoBusyWorkerTerminated(events);
                for (long pid : watch.pids) {
                    assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "no worker process left: " + pid);
                }
            } finally {
                controller.destroy();
                controller.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void should_carry_on_with_the_same_fleet_when_the_controller_is_killed_mid_burst(@TempDir Path dir) throws Exception {
        try (LocalPipeline p = LocalPipeline.start(dir, Map.of());
             Watch watch = new Watch(FleetWiring.localRegistry(p.env, "imgscale"))) {
            Path events = dir.resolve("events.jsonl");
            List<Path> images = LocalPipeline.copies(dir.resolve("images"), 7);
            CliRun up = p.run("upload", "--local", dir.resolve("images").toString());
            assertEquals(0, up.exitCode(), up.evidence());
            String job = up.out().strip();
            Process first = controller(p, events, "controller-1.log");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (watch.current() < 4) {
                assertTrue(System.nanoTime() < deadline, Files.readString(p.home.resolve("controller-1.log")));
                Thread.sleep(100);
            }
            first.destroyForcibly();
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            Process second = controller(p, events, "controller-2.log");
            try {
                CliRun follow = p.run("results", "--local", "--job", job, "--follow", "--timeout", "300", "--output", "csv");
                assertEquals(0, follow.exitCode(), follow.evidence() + Files.readString(p.home.resolve("controller-2.log")));
                assertEquals(images.size(), follow.out().lines().skip(1).map(l -> l.split(",")[0]).distinct().count(), follow.evidence());
                awaitZero(watch, p.home.resolve("controller-2.log"));
                assertEquals(4, watch.peak.get(), "never more than the cap, before or after the restart");
                String log = Files.readString(p.home.resolve("controller-2.log"));
                String firstTick = log.lines().filter(l -> l.contains("ControllerLoop - ") && l.contains(" workers, queue ")).findFirst()
                        .orElse("");
                assertTrue(firstTick.contains(" 4 workers") || firstTick.contains(" 3 workers") || firstTick.contains(" 2 workers"),
                        "the new controller found the running workers in the fleet's record (the first tick sees them): " + firstTick + "\n" + log);
                assertNoBusyWorkerTerminated(events);
                for (long pid : watch.pids) {
                    assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "no orphan worker: " + pid);
                }
            } finally {
                second.destroy();
                second.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }
}
