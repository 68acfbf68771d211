package dev.imgscale.cli.bench;

import dev.imgscale.classifier.ImgscaleException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Runs a task on several threads at once and times them. */
final class Parallel {
    private Parallel() {
    }

    /** Runs the task on {@code threads} threads at once and returns the wall nanoseconds until all end. */
    static long run(int threads, String name, Runnable task) {
        List<Thread> running = new ArrayList<>();
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);
                }
            }, name);
            t.start();
            running.add(t);
        }
        for (Thread t : running) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ImgscaleException("Interrupted while benchmarking.", e);
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        return System.nanoTime() - t0;
    }
}
