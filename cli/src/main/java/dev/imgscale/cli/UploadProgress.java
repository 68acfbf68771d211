package dev.imgscale.cli;

import dev.imgscale.daemon.client.UploadItem;
import dev.imgscale.daemon.client.UploadListener;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Upload progress on stderr: a progress bar (count, bytes, rate, ETA) on a terminal, and a plain
 * line every few seconds otherwise (cron jobs, pipes, CI logs).
 */
final class UploadProgress implements UploadListener {
    private final PrintWriter err;
    private final boolean terminal;
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final AtomicLong bytes = new AtomicLong();
    private volatile int files;
    private volatile long totalBytes;
    private volatile long startNanos;
    private volatile long lastLine;
    private ProgressBar bar;

    UploadProgress(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public synchronized void started(int files, long totalBytes) {
        this.files = files;
        this.totalBytes = totalBytes;
        this.startNanos = System.nanoTime();
        this.lastLine = startNanos;
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName("upload").setInitialMax(files).setStyle(ProgressBarStyle.ASCII)
                    .setUnit(" img", 1).showSpeed().setUpdateIntervalMillis(200).build();
        } else {
            err.printf(Locale.ROOT, "imgscale: uploading %d images (%s)%n", files, size(totalBytes));
            err.flush();
        }
    }

    @Override
    public void uploaded(UploadItem item) {
        int n = done.incrementAndGet();
        long b = bytes.addAndGet(item.size());
        progress(n, b);
    }

    @Override
    public void failed(UploadItem item, String reason) {
        failed.incrementAndGet();
        int n = done.incrementAndGet();
        progress(n, bytes.get());
    }

    private synchronized void progress(int n, long b) {
        if (bar != null) {
            bar.stepTo(n);
            bar.setExtraMessage(size(b) + "/" + size(totalBytes));
            return;
        }
        long now = System.nanoTime();
        if (n == files || now - lastLine > 5_000_000_000L) {
            lastLine = now;
            double seconds = Math.max(1e-3, (now - startNanos) / 1e9);
            double rate = n / seconds;
            long eta = rate > 0 ? Math.round((files - n) / rate) : 0;
            err.printf(Locale.ROOT, "imgscale: uploaded %d/%d images, %s, %.1f images/s (%s/s), ETA %ds%n", n, files, size(b), rate,
                    size((long) (b / seconds)), eta);
            err.flush();
        }
    }

    @Override
    public synchronized void enqueueing(int requests) {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    static String size(long bytes) {
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }
}
