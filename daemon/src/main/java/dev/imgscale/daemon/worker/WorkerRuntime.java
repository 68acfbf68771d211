package dev.imgscale.daemon.worker;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.concurrent.DaemonThreads;
import dev.imgscale.classifier.Labels;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.assets.DownloadListener;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.decode.DecodeLimits;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.time.Time;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.worker.stage.ImageClassifier;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Map;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Worker} wired to a stack: its queues and buckets from the given stack context, and the
 * stack's model (or another) loaded from the assets the environment names. Owns the classifier;
 * the stack context stays the caller's. The {@code imgscale worker} command is then:
 * <pre>{@code
 * try (WorkerRuntime runtime = WorkerRuntime.open(stack, env, settings, listener)) {
 *     runtime.installSignalHandlers();   // SIGTERM / Ctrl-C: finish the batch in hand, then return
 *     runtime.worker().run();
 * }
 * }</pre>
 */
public final class WorkerRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerRuntime.class);

    /**
     * Images per forward pass by default: one poll's worth (ten), so that a batch goes through the
     * engine in one call. Larger passes would gain little (the time per image hardly falls past a
     * few images per pass; see docs/benchmarks.md) and would need more than one poll.
     */
    public static final int DEFAULT_BATCH_SIZE = WorkerOptions.MAX_MESSAGES;

    private final Classifier classifier;
    private final Worker worker;

    /**
     * What the command line may change.
     *
     * @param model               a catalog model's name; null: the stack's model
     * @param classifier          engine, threads, batch size, top-k and decode limits; null: the defaults
     *                            with one forward pass per batch of requests
     * @param idleExit            exit after this long without requests; null: never
     * @param downloadConcurrency images downloaded at once; 0: the default
     * @param workerId            written into results; null: host and pid
     * @param decodeThreads       images decoded at once; 0: chosen from measurements
     * @param flushImages         results written in one object once this many wait; 0: the default (100)
     * @param flushEvery          results written at the latest this long after the oldest waiting; null: the default (5 s)
     */
    public record Settings(String model, ClassifierOptions classifier, Duration idleExit, int downloadConcurrency, String workerId,
                           int decodeThreads, int flushImages, Duration flushEvery) {
        public static Settings defaults() {
            return new Settings(null, null, null, 0, null, 0, 0, null);
        }

        public Settings withDecodeThreads(int n) {
            return new Settings(model, classifier, idleExit, downloadConcurrency, workerId, n, flushImages, flushEvery);
        }

        public Settings withFlush(int images, Duration every) {
            return new Settings(model, classifier, idleExit, downloadConcurrency, workerId, decodeThreads, images, every);
        }

        public Settings withModel(String name) {
            return new Settings(name, classifier, idleExit, downloadConcurrency, workerId, decodeThreads, flushImages, flushEvery);
        }

        public Settings withClassifier(ClassifierOptions options) {
            return new Settings(model, options, idleExit, downloadConcurrency, workerId, decodeThreads, flushImages, flushEvery);
        }

        public Settings withIdleExit(Duration d) {
            return new Settings(model, classifier, d, downloadConcurrency, workerId, decodeThreads, flushImages, flushEvery);
        }

        public Settings withDownloadConcurrency(int n) {
            return new Settings(model, classifier, idleExit, n, workerId, decodeThreads, flushImages, flushEvery);
        }

        public Settings withWorkerId(String id) {
            return new Settings(model, classifier, idleExit, downloadConcurrency, id, decodeThreads, flushImages, flushEvery);
        }
    }

    private WorkerRuntime(Classifier classifier, Worker worker) {
        this.classifier = classifier;
        this.worker = worker;
    }

    /**
     * Opens the stack's request and result queues (failing in one sentence when the stack does not
     * exist) and loads the model, resolving (and if allowed downloading) its files as
     * {@link AssetResolver#fromEnvironment(Map)} says.
     *
     * <p>Both take about a second at a cold start (the SDK's first requests, the engine's native
     * libraries), and they are independent, so when the model's files are already on this machine
     * the model loads on another thread while the queues open. When a download is needed the
     * queues are opened first, so that a missing stack fails before a large download starts.
     */
    public static WorkerRuntime open(StackContext stack, Map<String, String> env, Settings settings,
                                     DownloadListener listener) {
        return open(stack, env, settings, listener, Time.system());
    }

    /** {@link #open(StackContext, Map, Settings, DownloadListener)}, the worker running in the given time. */
    public static WorkerRuntime open(StackContext stack, Map<String, String> env, Settings settings,
                                     DownloadListener listener, Time time) {
        Objects.requireNonNull(stack, "stack");
        Objects.requireNonNull(time, "time");
        StackConfig config = stack.config();
        Objects.requireNonNull(settings, "settings");
        long opening = System.currentTimeMillis();
        String modelName = settings.model() != null ? settings.model() : config.model();
        ModelSpec model = ModelCatalog.builtIn().model(modelName);
        ClassifierOptions classifierOptions = settings.classifier() != null ? settings.classifier()
                : new ClassifierOptions("auto", 0, 0, DEFAULT_BATCH_SIZE, 0, 5, DecodeLimits.DEFAULT);
        AssetResolver resolver = AssetResolver.fromEnvironment(env);
        useCachedNatives(model, classifierOptions, env);
        Optional<Path> modelFile = resolver.locate(model.asset());
        Optional<Path> labelFile = modelFile.isPresent() ? resolver.locate(model.labels().asset()) : Optional.empty();
        FutureTask<Classifier> early = null;
        if (labelFile.isPresent()) {
            early = new FutureTask<>(() -> Classifier.open(model, modelFile.get(), Labels.load(model.labels(), labelFile.get()),
                    classifierOptions));
            DaemonThreads.start("imgscale-model-load", early);
        }
        WorkQueue requests;
        WorkQueue results;
        try {
            requests = stack.requests();
            results = stack.results();
        } catch (RuntimeException e) {
            if (early != null) {
                closeWhenLoaded(early);
            }
            throw e;
        }
        long queuesOpen = System.currentTimeMillis();
        ObjectStore input = stack.input();
        ObjectStore output = stack.output();
        WorkerOptions options = WorkerOptions.defaults(config).withModel(model.name()).withIdleExit(settings.idleExit())
                .withDecodeThreads(settings.decodeThreads());
        if (settings.downloadConcurrency() > 0) {
            options = options.withDownloadConcurrency(settings.downloadConcurrency());
        }
        if (settings.workerId() != null) {
            options = options.withWorkerId(settings.workerId());
        }
        options = options.withFlush(settings.flushImages() > 0 ? settings.flushImages() : options.flushImages(),
                settings.flushEvery() != null ? settings.flushEvery() : options.flushEvery());
        Classifier classifier = early != null ? join(early)
                : Classifier.open(model, resolver, classifierOptions, listener == null ? DownloadListener.NONE : listener);
        long loaded = System.currentTimeMillis();
        Worker worker = new Worker(ImageClassifier.of(classifier), requests, results, input, output, time, options);
        // on EC2, Spot interruption notices; off it the watcher finds no IMDS and stops quietly
        worker.watchInterruptions(env);
        logReady(worker, opening, queuesOpen, loaded, early != null);
        return new WorkerRuntime(classifier, worker);
    }

    /**
     * When the model will run on ONNX Runtime, has it load its native libraries from a copy in
     * imgscale's cache (made on first use) rather than unpack them into a temporary folder at every
     * start; see {@link OnnxRuntimeNatives}. Call before the model is loaded. A run that calls this
     * once (a worker, or {@code imgscale bench pipeline} at image bake time) leaves the copy for
     * every later start on the machine.
     */
    public static void useCachedNatives(ModelSpec model, ClassifierOptions options, Map<String, String> env) {
        if (Classifier.ONNX_RUNTIME.equals(Classifier.chooseEngine(model, options.engine()))) {
            OnnxRuntimeNatives.useCached(AssetResolver.cacheDir(env));
        }
    }

    private static Classifier join(FutureTask<Classifier> task) {
        try {
            return task.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeWhenLoaded(task);
            throw new ImgscaleException("Interrupted while loading the model.", e);
        }
    }

    /** Frees a model that was loading for a worker that will not run, once it has loaded. */
    private static void closeWhenLoaded(FutureTask<Classifier> task) {
        DaemonThreads.start("imgscale-model-close", () -> {
            try {
                task.get().close();
            } catch (InterruptedException | ExecutionException | RuntimeException e) {
                // it failed to load: nothing to free
            }
        });
    }

    /**
     * Logs, at the worker's first poll, how long the start took: what every scale-out waits for.
     * Counted from bin/imgscale's start when the launcher says when that was
     * ({@code -Dimgscale.launchedAt}, epoch microseconds), else from the JVM's start. The split
     * says where it went: the JVM and the command line up to {@link #open}, the queues and the
     * model (in parallel when the model's files were at hand), and starting the pipeline.
     */
    private static void logReady(Worker worker, long opening, long queuesOpen, long loaded, boolean parallel) {
        long started = startMillis();
        worker.firstPoll().thenAccept(polled -> {
            // bin/imgscale names the class data sharing archive it maps, if any
            String archive = System.getProperty("imgscale.cds");
            String cds = archive == null ? "no AppCDS archive" : "AppCDS archive " + archive;
            LOG.info("Worker ready in {} ms (model loaded, first poll): JVM and command line {} ms, queues {} ms, model {} ms{},"
                            + " pipeline {} ms; {}", polled - started, opening - started, queuesOpen - opening,
                    parallel ? loaded - opening : loaded - queuesOpen, parallel ? " (beside the queues)" : "", polled - loaded, cds);
        });
    }

    /** When this process was launched, epoch millis: the launcher's word if it gave it, else the JVM's start. */
    static long startMillis() {
        String launched = System.getProperty("imgscale.launchedAt");
        if (launched != null) {
            try {
                return Long.parseLong(launched.trim()) / 1000;
            } catch (NumberFormatException e) {
                // fall through to the JVM's start
            }
        }
        // not ProcessHandle's start instant: on Linux it is derived from the boot time in whole seconds
        return ManagementFactory.getRuntimeMXBean().getStartTime();
    }

    public Worker worker() {
        return worker;
    }

    public Classifier classifier() {
        return classifier;
    }

    /**
     * Makes SIGTERM and SIGINT begin the worker's shutdown instead of ending the JVM, so that the
     * batch in hand is finished and {@link Worker#run()} returns normally (and {@code main} can exit
     * 0). A second signal ends the process the default way. Where the JVM offers no signal API,
     * falls back to a shutdown hook that drains the worker before the JVM exits.
     */
    public void installSignalHandlers() {
        AtomicBoolean signalled = new AtomicBoolean();
        try {
            // sun.misc.Signal through reflection: the direct reference draws an unsuppressable
            // "internal proprietary API" compiler warning.
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
            Method raise = signalClass.getMethod("raise", signalClass);
            Object defaultHandler = handlerClass.getField("SIG_DFL").get(null);
            for (String name : new String[] {"TERM", "INT"}) {
                Object signal = signalClass.getConstructor(String.class).newInstance(name);
                Object handler = Proxy.newProxyInstance(handlerClass.getClassLoader(), new Class<?>[] {handlerClass},
                        (proxy, method, args) -> {
                            switch (method.getName()) {
                                case "handle" -> {
                                    if (signalled.compareAndSet(false, true)) {
                                        LOG.info("SIG{}: finishing the batch in hand, then stopping (signal again to stop now)", name);
                                        worker.beginShutdown();
                                    } else {
                                        handle.invoke(null, signal, defaultHandler);
                                        raise.invoke(null, signal);
                                    }
                                    return null;
                                }
                                case "hashCode" -> {
                                    return System.identityHashCode(proxy);
                                }
                                case "equals" -> {
                                    return proxy == args[0];
                                }
                                default -> {
                                    return "WorkerSignalHandler[" + name + "]";
                                }
                            }
                        });
                handle.invoke(null, signal, handler);
            }
        } catch (ClassNotFoundException | NoSuchMethodException | NoSuchFieldException | IllegalAccessException
                 | InstantiationException | InvocationTargetException | RuntimeException e) {
            LOG.debug("No signal API ({}); draining from a shutdown hook instead", e.toString());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                worker.beginShutdown();
                try {
                    worker.awaitShutdown(Duration.ofMinutes(2));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }, "imgscale-worker-shutdown"));
        }
    }

    /** Stops the worker if it runs (finishing its batch), then frees the model. */
    @Override
    public void close() {
        WorkerState state = worker.state();
        if (state != WorkerState.STARTING && state != WorkerState.STOPPED) {
            worker.beginShutdown();
            try {
                if (!worker.awaitShutdown(Duration.ofMinutes(2))) {
                    LOG.warn("The worker did not stop within 2 minutes; freeing the model anyway");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        classifier.close();
    }
}
