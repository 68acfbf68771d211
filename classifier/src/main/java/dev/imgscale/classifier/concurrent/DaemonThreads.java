package dev.imgscale.classifier.concurrent;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Daemon threads with a name, the one place every module makes them: a pool or a background loop
 * must never keep the JVM alive after {@code main} returns (the CLI exits with its own code, a
 * worker after its drain).
 */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    /** A factory of daemon threads named {@code name-1}, {@code name-2}, ... */
    public static ThreadFactory named(String name) {
        AtomicLong count = new AtomicLong();
        return r -> newThread(name + "-" + count.incrementAndGet(), r);
    }

    /** One daemon thread of that name, not started. */
    public static Thread newThread(String name, Runnable task) {
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        return t;
    }

    /** One daemon thread of that name, started. */
    public static Thread start(String name, Runnable task) {
        Thread t = newThread(name, task);
        t.start();
        return t;
    }
}
