package dev.imgscale.cli.bench;

import dev.imgscale.classifier.ImagePreparer;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.decode.ImageHeader;
import dev.imgscale.classifier.decode.ImageHeaders;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.classifier.decode.LargeJpegs;
import dev.imgscale.classifier.decode.SafeDecoder;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decode + preprocess figures: one thread over the benchmark images, the same at full scale (the
 * decoder before scaled JPEG decoding) over large photos, and the images/s the decoder alone
 * sustains with a thread per core.
 */
public final class DecodeBench {
    private static final long SECOND = 1_000_000_000L;

    private DecodeBench() {
    }

    /**
     * The tensors of the images that decode, and the one-thread decode + preprocess time: wall and
     * the thread's CPU time (which a loaded machine inflates far less than wall time).
     */
    public record Decoded(List<float[]> tensors, long nanos, long cpuNanos, long count) {
        public double msPerImage() {
            return nanos / 1e6 / count;
        }

        public double cpuMsPerImage() {
            return cpuNanos / 1e6 / count;
        }
    }

    private static long threadCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0;
    }

    /**
     * Untimed decoding before a figure: OpenCV's codecs loaded, the preprocessing compiled by the JIT.
     * Measured with two 12 MP photos: after half a second the figure was still 15 % above the steady
     * state (16.8 against 14.6-14.8 ms of CPU), which it reached after about three seconds.
     */
    private static final long WARM_UP = 3 * SECOND;

    /**
     * Decode + preprocess, one thread, every image at least once and for at least a second, after
     * {@link #WARM_UP} of untimed passes (at least one): the first decodes load OpenCV's codecs and run
     * the preprocessing before the JIT has compiled it, which made the figure several times too high
     * on a loaded machine after one pass, and with two 12 MP photos still 15 % too high after half a
     * second: a worker's figure is the steady state.
     */
    public static Decoded oneThread(ImagePreparer preparer, List<byte[]> encoded) {
        List<float[]> tensors = new ArrayList<>();
        for (byte[] bytes : encoded) {
            try {
                tensors.add(preparer.prepare(bytes));
            } catch (ImageRejectedException e) {
                // a rejected image is not part of the figure
            }
        }
        long warm = System.nanoTime() + WARM_UP;
        while (!tensors.isEmpty() && System.nanoTime() < warm) {
            for (byte[] bytes : encoded) {
                try {
                    preparer.prepare(bytes);
                } catch (ImageRejectedException e) {
                    // as above
                }
            }
        }
        if (tensors.isEmpty()) {
            throw new ImgscaleException("None of the benchmark images could be decoded.");
        }
        return timed(preparer::prepare, encoded, tensors);
    }

    /** One image's decode + preprocess, scaled or at full size. */
    private interface Preparation {
        void prepare(byte[] encoded) throws ImageRejectedException;
    }

    /**
     * The timed passes of one thread over {@code encoded}, every image at least once and for at least
     * a second; a pass in which nothing decoded ends them (no later one would). Rejected images are
     * not counted.
     */
    private static Decoded timed(Preparation preparation, List<byte[]> encoded, List<float[]> tensors) {
        long nanos = 0;
        long decoded = 0;
        long cpu0 = threadCpuNanos();
        long deadline = System.nanoTime() + SECOND;
        do {
            for (byte[] bytes : encoded) {
                long t0 = System.nanoTime();
                try {
                    preparation.prepare(bytes);
                    nanos += System.nanoTime() - t0;
                    decoded++;
                } catch (ImageRejectedException e) {
                    // not part of the figure
                }
            }
        } while (System.nanoTime() < deadline && decoded > 0);
        return new Decoded(tensors, nanos, threadCpuNanos() - cpu0, decoded);
    }

    /**
     * One thread's decode + preprocess at full size, every image at least once and for at least a
     * second: {wall, CPU} ms/image.
     */
    public static double[] fullScaleMs(ImagePreparer preparer, List<byte[]> encoded) {
        for (byte[] bytes : encoded) {
            try {
                preparer.prepareFullScale(bytes); // untimed, as in oneThread
            } catch (ImageRejectedException e) {
                // not counted below either
            }
        }
        Decoded full = timed(preparer::prepareFullScale, encoded, List.of());
        return full.count() == 0 ? new double[] {Double.NaN, Double.NaN} : new double[] {full.msPerImage(), full.cpuMsPerImage()};
    }

    /**
     * Images/s that {@code threads} threads decoding and preprocessing side by side sustain over
     * about a second (wall time), each taking the next image of the list round and round.
     */
    public static double allCores(ImagePreparer preparer, List<byte[]> encoded, int threads) {
        AtomicLong next = new AtomicLong();
        AtomicLong done = new AtomicLong();
        long stop = System.nanoTime() + SECOND;
        long wall = Parallel.run(threads, "imgscale-bench-decode", () -> {
            while (System.nanoTime() < stop) {
                byte[] bytes = encoded.get((int) (next.getAndIncrement() % encoded.size()));
                try {
                    preparer.prepare(bytes);
                    done.incrementAndGet();
                } catch (ImageRejectedException e) {
                    // not counted
                }
            }
        });
        return done.get() * 1e9 / wall;
    }

    /**
     * {@code count} 12 MP (4032x3024) JPEGs made from the benchmark images that decode, in turn: a
     * phone photo's size, to time the decoder where its cost is highest.
     */
    public static List<byte[]> largePhotos(List<byte[]> sources, int count) {
        SafeDecoder decoder = new SafeDecoder();
        List<byte[]> out = new ArrayList<>(count);
        for (int i = 0; out.size() < count && i < sources.size() * 2; i++) {
            try (Mat photo = decoder.decode(sources.get(i % sources.size()))) {
                out.add(LargeJpegs.photo(photo, LargeJpegs.PHONE_WIDTH, LargeJpegs.PHONE_HEIGHT, 90, i));
            } catch (ImageRejectedException e) {
                // only the images that decode can be enlarged
            }
        }
        if (out.isEmpty() && count > 0) {
            throw new ImgscaleException("None of the benchmark images could be decoded to make large photos from.");
        }
        return out;
    }

    /** The decode figures of a benchmark run beside its one-thread development-image figure (ms: wall, CPU: the thread's CPU time). */
    public record Figures(double cpuMs, int largeCount, String largeSize, double largeMb, double largeMs, double largeCpuMs,
                          double largeFullMs, double largeFullCpuMs, int threads, double imagesPerSecond, double largeImagesPerSecond) {
        /** The lines {@code bench} prints after its one-thread decode+preprocess line. */
        public void print(PrintWriter out, String labelFormat) {
            out.printf(Locale.ROOT, labelFormat + "%.2f ms/image of CPU time (one thread)%n", "decode CPU", cpuMs);
            if (largeCount > 0) {
                out.printf(Locale.ROOT, labelFormat + "%.2f ms/image, %.2f of CPU (one thread; %d JPEG%s of %s, %.2f MB each on average, "
                                + "made by the benchmark; %.1f ms of CPU per MB); at full size %.2f, %.2f of CPU: %.1fx, CPU %.1fx%n", "large photos",
                        largeMs, largeCpuMs, largeCount, largeCount == 1 ? "" : "s", largeSize, largeMb, largeCpuMs / largeMb, largeFullMs,
                        largeFullCpuMs, largeFullMs / largeMs, largeFullCpuMs / largeCpuMs);
                out.printf(Locale.ROOT, labelFormat + "%.1f images/s on the benchmark images, %.1f on the large photos (%d threads)%n",
                        "decode, all cores", imagesPerSecond, largeImagesPerSecond, threads);
            } else {
                out.printf(Locale.ROOT, labelFormat + "%.1f images/s on the benchmark images (%d threads)%n", "decode, all cores",
                        imagesPerSecond, threads);
            }
        }
    }

    /**
     * Every decode figure beside the one-thread figure of {@code decoded}: large photos
     * ({@code largeCount}, 0 for none) and all cores.
     */
    public static Figures measure(ImagePreparer preparer, List<byte[]> encoded, Decoded decoded, int largeCount) {
        int threads = Runtime.getRuntime().availableProcessors();
        double perSecond = allCores(preparer, encoded, threads);
        if (largeCount <= 0) {
            return new Figures(decoded.cpuMsPerImage(), 0, "", 0, 0, 0, 0, 0, threads, perSecond, 0);
        }
        List<byte[]> large = largePhotos(encoded, largeCount);
        double mb = large.stream().mapToLong(b -> b.length).average().orElse(0) / 1e6;
        String size;
        try {
            ImageHeader header = ImageHeaders.read(large.get(0));
            size = header.width() + "x" + header.height();
        } catch (ImageRejectedException e) {
            size = "?";
        }
        Decoded scaled = oneThread(preparer, large);
        double[] full = fullScaleMs(preparer, large);
        double largePerSecond = allCores(preparer, large, threads);
        return new Figures(decoded.cpuMsPerImage(), large.size(), size, mb, scaled.msPerImage(), scaled.cpuMsPerImage(), full[0], full[1],
                threads, perSecond, largePerSecond);
    }
}
