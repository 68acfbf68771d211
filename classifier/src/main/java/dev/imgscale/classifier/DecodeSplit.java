package dev.imgscale.classifier;

import java.util.Locale;

/**
 * How many threads a pipeline should decode on beside its engine streams, from what one image
 * costs to decode and to infer. A pure rule: the caller measures, this decides.
 *
 * <p>On a worker every stage is CPU-bound, so with {@code P} cores, {@code S} streams of {@code T}
 * threads, {@code d} ms of one thread's decode + preprocess per image and {@code i} ms of a
 * stream's pass per image, the images per ms are bounded by the engines, {@code S / i}, and by the
 * cores, {@code P / (d + T x i)}. The decoders must keep up with the smaller bound {@code X}, so
 * they need {@code X x d} threads' worth of work: {@code ceil(X x d)}, at least one, at most
 * {@code P}. More would only take cores from inference in bursts; fewer would leave the engine
 * waiting. Decode threads that are ahead block on the hand-off to inference, so rounding up costs
 * nothing but a thread.
 *
 * <p>Worked through with the 2-core figures of docs/benchmarks-int8.md: int8 ResNet-50 (a stream's
 * pass 17 ms per image) and the development images (6 ms) or a 12 MP photo decoded at 1/8
 * (about 13 ms) need one decode thread; the same photo decoded at full size (126 ms) needed two,
 * and still the cores, not the engine, set the pace.
 *
 * @param decodeThreads   threads to decode on
 * @param imagesPerSecond the throughput the split allows (the smaller bound)
 * @param bottleneck      "engine" when the streams set the pace, "cores" when decode and inference
 *                        together fill every core
 * @param overridden      whether the count was given rather than chosen
 */
public record DecodeSplit(int decodeThreads, double imagesPerSecond, String bottleneck, boolean overridden) {

    /**
     * @param processors         cores the process may use
     * @param streams            engine streams (forward passes at once)
     * @param threadsPerStream   threads each stream's pass runs on
     * @param decodeMsPerImage   one thread's decode + preprocess time per image, ms
     * @param streamMsPerImage   one stream's pass time per image (pass wall time over its images), ms
     * @param override           a decode thread count given by the operator, or 0 to choose
     */
    public static DecodeSplit choose(int processors, int streams, int threadsPerStream, double decodeMsPerImage,
                                     double streamMsPerImage, int override) {
        if (processors < 1 || streams < 1 || threadsPerStream < 1) {
            throw new IllegalArgumentException("processors, streams and threads must be at least 1");
        }
        if (!(decodeMsPerImage >= 0) || !(streamMsPerImage > 0) || override < 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "need decode ms >= 0, stream ms > 0 and override >= 0, not %s, %s, %d", decodeMsPerImage, streamMsPerImage, override));
        }
        double engineBound = streams / streamMsPerImage;
        double coreBound = processors / (decodeMsPerImage + threadsPerStream * streamMsPerImage);
        double perMs = Math.min(engineBound, coreBound);
        String bottleneck = engineBound <= coreBound ? "engine" : "cores";
        if (override > 0) {
            // a given count may starve the engine: report what it allows
            double decodeBound = decodeMsPerImage == 0 ? Double.POSITIVE_INFINITY : override / decodeMsPerImage;
            if (decodeBound < perMs) {
                perMs = decodeBound;
                bottleneck = "decode";
            }
            return new DecodeSplit(override, perMs * 1000, bottleneck, true);
        }
        // the 1e-9 keeps an exact fit (X x d = 1.0 in floating point as 1.0000000001) at one thread
        int threads = (int) Math.ceil(perMs * decodeMsPerImage - 1e-9);
        return new DecodeSplit(Math.max(1, Math.min(processors, threads)), perMs * 1000, bottleneck, false);
    }

    /** The split for a loaded classifier on this machine's cores. */
    public static DecodeSplit choose(Classifier classifier, double decodeMsPerImage, double streamMsPerImage, int override) {
        return choose(Runtime.getRuntime().availableProcessors(), classifier.streams(), classifier.engineThreads(),
                decodeMsPerImage, streamMsPerImage, override);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d decode thread%s (%s), %.1f images/s, bound by the %s", decodeThreads,
                decodeThreads == 1 ? "" : "s", overridden ? "given" : "chosen", imagesPerSecond, bottleneck);
    }
}
