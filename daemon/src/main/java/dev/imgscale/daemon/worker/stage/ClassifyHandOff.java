package dev.imgscale.daemon.worker.stage;

import java.util.concurrent.SynchronousQueue;

/**
 * The hand-off from the receive stage to the classify stage, which drops a batch handed back at a
 * Spot interruption while it waited here (a batch received early for the next round): it is
 * another worker's now, so the classify stage never sees it, and the receive stage, blocked on
 * handing it on, moves to its end. The drop is here rather than in {@link ClassifyStage} so that
 * every classify stream gets it for free.
 */
public final class ClassifyHandOff extends SynchronousQueue<Batch> {
    private static final long serialVersionUID = 1L;

    @Override
    public Batch take() throws InterruptedException {
        while (true) {
            Batch batch = super.take();
            if (batch == Batch.END || !batch.handedBack()) {
                return batch;
            }
        }
    }
}
