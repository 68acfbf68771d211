package dev.imgscale.daemon.local;

import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.FleetInstance;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.ImgscaleException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workers as child processes on this machine, each running {@code imgscale worker --local
 * --worker-id ID}. The fleet's record is a folder with one JSON file per instance (its pid, the
 * pid's start time, when it was launched, its state tag): listing reads the folder and checks the
 * pids, so a restarted controller finds every worker the last one launched, and a worker that has
 * exited (drained, idle exit, crash) is simply no longer listed.
 */
public final class LocalProcessFleet implements Fleet {
    private static final Logger LOG = LoggerFactory.getLogger(LocalProcessFleet.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path registry;
    private final Optional<Path> logs;
    private final String stack;
    private final List<String> workerCommand;
    private final Map<String, String> environment;
    private final Clock clock;

    /**
     * @param registry      the folder of instance records (one per stack)
     * @param workerCommand the command that starts a worker of this stack; {@code --worker-id ID} is appended
     * @param environment   the workers' environment
     */
    public LocalProcessFleet(Path registry, String stack, List<String> workerCommand, Map<String, String> environment, Clock clock) {
        this(registry, Optional.of(registry), stack, workerCommand, environment, clock);
    }

    /**
     * @param logs the folder of the workers' logs, one file per worker ({@link #logFile}); empty: the
     *             workers write to this process's terminal (the demo's {@code -v})
     */
    public LocalProcessFleet(Path registry, Optional<Path> logs, String stack, List<String> workerCommand, Map<String, String> environment,
            Clock clock) {
        this.registry = registry;
        this.logs = logs;
        this.stack = stack;
        this.workerCommand = List.copyOf(workerCommand);
        this.environment = Map.copyOf(environment);
        this.clock = clock;
    }

    public Path registry() {
        return registry;
    }

    /** Where the worker of this id writes its log; empty when the workers write to the terminal. */
    public Optional<Path> logFile(String id) {
        return logs.map(l -> l.resolve(id + ".log"));
    }

    @Override
    public String kind() {
        return "local";
    }

    @Override
    public synchronized List<FleetInstance> list() {
        List<FleetInstance> out = new ArrayList<>();
        for (Path file : records()) {
            Optional<JsonNode> record = read(file);
            if (record.isEmpty()) {
                continue;
            }
            JsonNode r = record.get();
            String id = r.path("id").asText();
            if (!alive(r)) {
                delete(file); // exited: drained, idle exit, or crashed
                continue;
            }
            out.add(new FleetInstance(id, FleetInstance.State.RUNNING, Instant.ofEpochMilli(r.path("launchedAt").asLong()),
                    Map.of(STACK_TAG, stack, ROLE_TAG, ROLE_WORKER, STATE_TAG, r.path("state").asText(STATE_RUNNING),
                            "pid", String.valueOf(r.path("pid").asLong()))));
        }
        return out;
    }

    @Override
    public synchronized List<FleetInstance> launch(int count, String clientToken) {
        // the client token guards against a retried call; here a launch is one local call, never retried
        List<FleetInstance> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = "local-" + UUID.randomUUID().toString().substring(0, 8);
            List<String> cmd = new ArrayList<>(workerCommand);
            cmd.add("--worker-id");
            cmd.add(id);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().putAll(environment);
            try {
                Files.createDirectories(registry);
                Optional<Path> log = logFile(id);
                if (log.isPresent()) {
                    Files.createDirectories(log.get().getParent());
                    pb.redirectErrorStream(true).redirectOutput(log.get().toFile());
                } else {
                    // a worker prints only its log, on stderr; its stdout stays off the terminal so it never mixes with labels there
                    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.INHERIT);
                }
                Process p = pb.start();
                Instant launched = clock.instant();
                ObjectNode record = JSON.createObjectNode().put("id", id).put("pid", p.pid()).put("launchedAt", launched.toEpochMilli())
                        .put("pidStartedAt", p.info().startInstant().map(Instant::toEpochMilli).orElse(0L)).put("state", STATE_RUNNING);
                write(registry.resolve(id + ".json"), record);
                out.add(new FleetInstance(id, FleetInstance.State.PENDING, launched, Map.of(STACK_TAG, stack, ROLE_TAG, ROLE_WORKER)));
                LOG.info("Launched worker {} (pid {}), log {}", id, p.pid(), log.map(Path::toString).orElse("on this terminal"));
            } catch (IOException e) {
                throw new ImgscaleException("Cannot start a local worker process (" + String.join(" ", cmd) + "): " + e.getMessage(), e);
            }
        }
        return out;
    }

    @Override
    public synchronized void markDraining(Collection<String> ids, boolean draining) {
        for (String id : ids) {
            Path file = registry.resolve(id + ".json");
            read(file).ifPresent(r -> {
                ((ObjectNode) r).put("state", draining ? STATE_DRAINING : STATE_RUNNING);
                write(file, (ObjectNode) r);
            });
        }
    }

    @Override
    public synchronized void terminate(Collection<String> ids) {
        for (String id : ids) {
            Path file = registry.resolve(id + ".json");
            Optional<JsonNode> record = read(file);
            if (record.isPresent() && alive(record.get())) {
                ProcessHandle.of(record.get().path("pid").asLong()).ifPresent(h -> {
                    h.destroy(); // SIGTERM: a drained worker is already on its way out
                    try {
                        h.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (Exception e) {
                        h.destroyForcibly();
                    }
                });
            }
            delete(file);
        }
    }

    private List<Path> records() {
        if (!Files.isDirectory(registry)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(registry)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new ImgscaleException("Cannot read the local fleet's folder " + registry + ": " + e.getMessage(), e);
        }
    }

    /** Alive, and the same process (a reused pid started later). */
    private static boolean alive(JsonNode r) {
        Optional<ProcessHandle> h = ProcessHandle.of(r.path("pid").asLong());
        if (h.isEmpty() || !h.get().isAlive()) {
            return false;
        }
        long started = r.path("pidStartedAt").asLong(0);
        return started == 0 || h.get().info().startInstant().map(i -> Math.abs(i.toEpochMilli() - started) < 2000).orElse(true);
    }

    private static Optional<JsonNode> read(Path file) {
        try {
            return Optional.of(JSON.readTree(Files.readAllBytes(file)));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static void write(Path file, ObjectNode record) {
        try {
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.write(tmp, JSON.writeValueAsBytes(record));
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new ImgscaleException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("Cannot delete {}: {}", file, e.toString());
        }
    }

    /** The pids of the listed workers, for tests and the demo's summary. */
    public Map<String, Long> pids() {
        Map<String, Long> out = new HashMap<>();
        for (FleetInstance i : list()) {
            out.put(i.id(), Long.parseLong(i.tags().get("pid")));
        }
        return out;
    }
}
