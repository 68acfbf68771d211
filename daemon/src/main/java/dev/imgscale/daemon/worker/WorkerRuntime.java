package dev.imgscale.daemon.worker;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ClassifierOptions;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.assets.DownloadListener;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.decode.DecodeLimits;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.aws.SqsWorkQueue;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.WorkQueue;
import dev.imgscale.daemon.stack.StackConfig;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Worker} wired to a stack: its queues and buckets through the given AWS clients, and the
 * stack's model (or another) loaded from the assets the environment names. Owns the classifier;
 * the AWS clients stay the caller's. The {@code imgscale worker} command is then:
 * <pre>{@code
 * try (WorkerRuntime runtime = WorkerRuntime.open(config, clients, env, settings, listener)) {
 *     runtime.installSignalHandlers();   // SIGTERM / Ctrl-C: finish the batch in hand, then return
 *     runtime.worker().run();
 * }
 * }</pre>
 */
public final class WorkerRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerRuntime.class);

    /** A batch of ten requests goes through the engine in one forward pass. */
    private static final int BATCH_SIZE = WorkerOptions.MAX_MESSAGES;

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
     */
    public record Settings(String model, ClassifierOptions classifier, Duration idleExit, int downloadConcurrency, String workerId) {
        public static Settings defaults() {
            return new Settings(null, null, null, 0, null);
        }

        public Settings withModel(String name) {
            return new Settings(name, classifier, idleExit, downloadConcurrency, workerId);
        }

        public Settings withClassifier(ClassifierOptions options) {
            return new Settings(model, options, idleExit, downloadConcurrency, workerId);
        }

        public Settings withIdleExit(Duration d) {
            return new Settings(model, classifier, d, downloadConcurrency, workerId);
        }

        public Settings withDownloadConcurrency(int n) {
            return new Settings(model, classifier, idleExit, n, workerId);
        }

        public Settings withWorkerId(String id) {
            return new Settings(model, classifier, idleExit, downloadConcurrency, id);
        }
    }

    private WorkerRuntime(Classifier classifier, Worker worker) {
        this.classifier = classifier;
        this.worker = worker;
    }

    /**
     * Opens the stack's request and result queues (failing in one sentence when the stack does not
     * exist), then loads the model, resolving (and if allowed downloading) its files as
     * {@link AssetResolver#fromEnvironment(Map)} says.
     */
    public static WorkerRuntime open(StackConfig config, AwsClients clients, Map<String, String> env, Settings settings,
                                     DownloadListener listener) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(clients, "clients");
        Objects.requireNonNull(settings, "settings");
        String modelName = settings.model() != null ? settings.model() : config.model();
        ModelSpec model = ModelCatalog.builtIn().model(modelName);
        // The queues first: a missing stack should fail before a model download starts.
        WorkQueue requests = SqsWorkQueue.open(clients.sqs(), config.names().requestQueue());
        WorkQueue results = SqsWorkQueue.open(clients.sqs(), config.names().resultQueue());
        ObjectStore input = new S3ObjectStore(clients.s3(), config.names().inputBucket());
        ObjectStore output = new S3ObjectStore(clients.s3(), config.names().outputBucket());

        ClassifierOptions classifierOptions = settings.classifier() != null ? settings.classifier()
                : new ClassifierOptions("auto", 0, BATCH_SIZE, 0, 5, DecodeLimits.DEFAULT);
        WorkerOptions options = WorkerOptions.defaults(config).withModel(model.name()).withIdleExit(settings.idleExit());
        if (settings.downloadConcurrency() > 0) {
            options = options.withDownloadConcurrency(settings.downloadConcurrency());
        }
        if (settings.workerId() != null) {
            options = options.withWorkerId(settings.workerId());
        }
        Classifier classifier = Classifier.open(model, AssetResolver.fromEnvironment(env), classifierOptions,
                listener == null ? DownloadListener.NONE : listener);
        return new WorkerRuntime(classifier, new Worker(classifier, requests, results, input, output, Clock.systemUTC(), options));
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
        Worker.State state = worker.state();
        if (state != Worker.State.STARTING && state != Worker.State.STOPPED) {
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
