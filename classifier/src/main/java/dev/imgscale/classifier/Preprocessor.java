package dev.imgscale.classifier;

import dev.imgscale.classifier.catalog.InputSpec;
import java.util.Objects;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * Turns a decoded BGR image into one image's input tensor (NCHW floats), as the model's
 * {@link InputSpec} says. Stateless, so it may be shared between threads.
 */
@ThreadSafe
public final class Preprocessor {
    private final InputSpec spec;
    private final float[] scale = new float[3];
    private final float[] shift = new float[3];

    public Preprocessor(InputSpec spec) {
        this.spec = spec;
        for (int c = 0; c < 3; c++) {
            // (pixel * scale - mean) / std == pixel * (scale / std) - mean / std
            scale[c] = (float) (spec.scale() / spec.std().get(c));
            shift[c] = (float) (spec.mean().get(c) / spec.std().get(c));
        }
    }

    public InputSpec spec() {
        return spec;
    }

    /**
     * The shorter side an image needs for this preprocessing not to upscale it: the resize target,
     * or for a straight resize to width x height the larger of the two (either way round, since EXIF
     * orientation may swap the sides). What a decoder may scale an image down to
     * ({@link dev.imgscale.classifier.decode.SafeDecoder#decode(byte[], int)}).
     */
    public int minShorterSide() {
        return spec.resizeShorter() > 0 ? spec.resizeShorter() : Math.max(spec.width(), spec.height());
    }

    /** The tensor of one 8-bit BGR image; the image is not modified. */
    public float[] toTensor(Mat bgr) {
        float[] out = new float[spec.tensorLength()];
        toTensor(bgr, out, 0);
        return out;
    }

    /**
     * Writes the tensor of one 8-bit BGR image into {@code dest} from {@code offset} (its slot in a
     * batch tensor) from the resized image's crop, without copying the crop: its three channels are
     * split into planes, each scaled and normalised into floats and copied into its plane of
     * {@code dest} in the model's colour order. Nothing but the resized image and the crop's planes
     * (a few hundred pixels a side) is allocated.
     */
    public void toTensor(Mat bgr, float[] dest, int offset) {
        toTensor(bgr, dest, offset, false);
    }

    /**
     * As {@link #toTensor(Mat, float[], int)}, for an image a JPEG decoder has already scaled down by
     * 1/2, 1/4 or 1/8 in its DCT when {@code dctScaled}: each of its pixels is then already the mean
     * of a block of the full image (an area filter), and what is left to resize is a ratio under 2
     * (the scale is chosen so), which the "area" filter does with bilinear resampling instead. For
     * that step bilinear is five times cheaper than INTER_AREA (0.17 against 0.86 ms from 504x378,
     * measured) and as close to the full decode's INTER_AREA (docs/benchmarks-int8.md).
     */
    public void toTensor(Mat bgr, float[] dest, int offset, boolean dctScaled) {
        int w = spec.width();
        int h = spec.height();
        int plane = w * h;
        Objects.checkFromIndexSize(offset, 3 * plane, dest.length);
        int rw;
        int rh;
        if (spec.resizeShorter() <= 0) {
            rw = w;
            rh = h;
        } else {
            double factor = spec.resizeShorter() / (double) Math.min(bgr.cols(), bgr.rows());
            rw = Math.max(w, (int) Math.round(bgr.cols() * factor));
            rh = Math.max(h, (int) Math.round(bgr.rows() * factor));
        }
        boolean same = bgr.cols() == rw && bgr.rows() == rh;
        Mat resized = same ? bgr : new Mat();
        try {
            if (!same) {
                try (Size size = new Size(rw, rh)) {
                    int filter = interpolation(spec.interpolation());
                    if (dctScaled && filter == opencv_imgproc.INTER_AREA && rw * 2 > bgr.cols() && rh * 2 > bgr.rows()) {
                        filter = opencv_imgproc.INTER_LINEAR;
                    }
                    opencv_imgproc.resize(bgr, resized, size, 0, 0, filter);
                }
            }
            int x = (rw - w) / 2;
            int y = (rh - h) / 2;
            boolean rgb = "RGB".equals(spec.channels());
            // In native code, not a Java loop over the pixels: workers run the JIT's C1 only, which
            // made that loop 0.43 ms an image (0.14 under C2); OpenCV's split and convertTo are SIMD.
            // BGR source: channel 0 is blue. Output channel c takes source channel (rgb ? 2 - c : c).
            try (Rect box = new Rect(x, y, w, h); Mat crop = new Mat(resized, box); MatVector planes = new MatVector(3)) {
                opencv_core.split(crop, planes);
                for (int c = 0; c < 3; c++) {
                    try (Mat source = planes.get(rgb ? 2 - c : c); Mat floats = new Mat()) {
                        source.convertTo(floats, opencv_core.CV_32F, scale[c], -shift[c]);
                        try (FloatPointer values = new FloatPointer(floats.data())) {
                            values.get(dest, offset + c * plane, plane);
                        }
                    }
                }
            }
        } finally {
            if (!same) {
                resized.close();
            }
        }
    }

    private static int interpolation(String name) {
        return switch (name) {
            case "area" -> opencv_imgproc.INTER_AREA;
            case "linear", "bilinear" -> opencv_imgproc.INTER_LINEAR;
            case "cubic", "bicubic" -> opencv_imgproc.INTER_CUBIC;
            case "nearest" -> opencv_imgproc.INTER_NEAREST;
            default -> throw new IllegalArgumentException("unknown interpolation " + name);
        };
    }
}
