package dev.imgscale.cli;

import dev.imgscale.classifier.assets.DownloadListener;
import java.io.PrintWriter;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Shows model downloads as a progress bar on a terminal, and as start/finish lines otherwise. */
final class ProgressBarListener implements DownloadListener {
    private final PrintWriter err;
    private ProgressBar bar;

    ProgressBarListener(PrintWriter err) {
        this.err = err;
    }

    @Override
    public void started(String file, String url, long totalBytes) {
        if (System.console() != null) {
            bar = new ProgressBarBuilder().setTaskName(file).setInitialMax(Math.max(totalBytes, 1))
                    .setStyle(ProgressBarStyle.ASCII).setUnit(" MB", 1024 * 1024).showSpeed().build();
        } else {
            err.println("imgscale: downloading " + file + " from " + url + (totalBytes > 0 ? " (" + totalBytes + " bytes)" : ""));
            err.flush();
        }
    }

    @Override
    public void progressed(String file, long bytesSoFar, long totalBytes) {
        if (bar != null) {
            bar.stepTo(bytesSoFar);
        }
    }

    @Override
    public void finished(String file) {
        if (bar != null) {
            bar.close();
            bar = null;
        } else {
            err.println("imgscale: downloaded " + file);
            err.flush();
        }
    }
}
