package dev.imgscale.classifier;

import dev.imgscale.classifier.catalog.InputSpec;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
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
    private final float[] offset = new float[3];

    public Preprocessor(InputSpec spec) {
        this.spec = spec;
        for (int c = 0; c < 3; c++) {
            // (pixel * scale - mean) / std == pixel * (scale / std) - mean / std
            scale[c] = (float) (spec.scale() / spec.std().get(c));
            offset[c] = (float) (spec.mean().get(c) / spec.std().get(c));
        }
    }

    public InputSpec spec() {
        return spec;
    }

    /** The tensor of one 8-bit BGR image; the image is not modified. */
    public float[] toTensor(Mat bgr) {
        int w = spec.width();
        int h = spec.height();
        try (Mat cropped = resizeAndCrop(bgr)) {
            byte[] pixels = new byte[w * h * 3];
            cropped.data().get(pixels);
            float[] out = new float[3 * w * h];
            int plane = w * h;
            boolean rgb = "RGB".equals(spec.channels());
            // BGR source: channel 0 is blue. Output channel c takes source channel (rgb ? 2 - c : c).
            int s0 = rgb ? 2 : 0;
            int s2 = rgb ? 0 : 2;
            for (int i = 0, p = 0; i < plane; i++, p += 3) {
                out[i] = (pixels[p + s0] & 0xff) * scale[0] - offset[0];
                out[plane + i] = (pixels[p + 1] & 0xff) * scale[1] - offset[1];
                out[2 * plane + i] = (pixels[p + s2] & 0xff) * scale[2] - offset[2];
            }
            return out;
        }
    }

    private Mat resizeAndCrop(Mat bgr) {
        int w = spec.width();
        int h = spec.height();
        int interpolation = interpolation(spec.interpolation());
        if (spec.resizeShorter() <= 0) {
            Mat resized = new Mat();
            opencv_imgproc.resize(bgr, resized, new Size(w, h), 0, 0, interpolation);
            return continuous(resized);
        }
        int shorter = Math.min(bgr.cols(), bgr.rows());
        double factor = spec.resizeShorter() / (double) shorter;
        int rw = Math.max(w, (int) Math.round(bgr.cols() * factor));
        int rh = Math.max(h, (int) Math.round(bgr.rows() * factor));
        try (Mat resized = new Mat()) {
            opencv_imgproc.resize(bgr, resized, new Size(rw, rh), 0, 0, interpolation);
            int x = (rw - w) / 2;
            int y = (rh - h) / 2;
            try (Mat roi = new Mat(resized, new Rect(x, y, w, h))) {
                return roi.clone();
            }
        }
    }

    private static Mat continuous(Mat m) {
        if (m.isContinuous()) {
            return m;
        }
        Mat copy = m.clone();
        m.close();
        return copy;
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
