package dev.imgscale.classifier.concurrent;

import java.util.concurrent.BlockingQueue;

/**
 * Waits that an interrupt does not cut short: for hand-offs whose other side is known to come
 * (dropping a batch between two stages would lose track of the requests in it). An interrupt that
 * arrives meanwhile is kept: the thread's interrupt flag is set again on return.
 */
public final class Uninterruptibly {
    private Uninterruptibly() {
    }

    /** {@link BlockingQueue#put}, retried through interrupts. */
    public static <T> void put(BlockingQueue<T> queue, T item) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    queue.put(item);
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@link BlockingQueue#take}, retried through interrupts. */
    public static <T> T take(BlockingQueue<T> queue) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return queue.take();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@link Thread#join()}, retried through interrupts. */
    public static void join(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
