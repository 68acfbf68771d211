package dev.imgscale.daemon.worker.stage;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/** The one loop that runs a step for each item of a batch on a pool, waits for all, and leaves an item whose step failed. */
final class ForEachItem {
    private ForEachItem() {
    }

    /**
     * Runs the task for each item in the given disposition on the pool and waits for all of them.
     * A task that throws leaves its item ({@code what: cause}); an interrupt leaves the items not yet
     * waited for and begins the shutdown (the worker is being stopped the hard way).
     */
    static void run(List<Item> items, Disposition which, ExecutorService pool, Consumer<Item> task, String what, ShutdownSignal shutdown) {
        List<Item> submitted = new ArrayList<>();
        List<Future<?>> futures = new ArrayList<>();
        for (Item item : items) {
            if (item.disposition == which) {
                submitted.add(item);
                futures.add(pool.submit(() -> task.accept(item)));
            }
        }
        for (int i = 0; i < futures.size(); i++) {
            try {
                futures.get(i).get();
            } catch (ExecutionException e) {
                submitted.get(i).leave(what + ": " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                shutdown.request();
                submitted.get(i).leave("interrupted");
            }
        }
    }
}
