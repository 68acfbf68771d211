package dev.imgscale.classifier.decode;

import java.util.Random;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * Large camera-like JPEGs made from ordinary photos, for benchmarks and tests of decoding: a crop
 * of the photo enlarged with a cubic filter, with a little seeded sensor-like noise so that the JPEG
 * carries fine detail as a camera's does.
 */
public final class LargeJpegs {
    /** A 12 MP phone photo's size (4:3). */
    public static final int PHONE_WIDTH = 4032;
    public static final int PHONE_HEIGHT = 3024;
    /**
     * Standard deviation of the added noise, in 8-bit levels: with it a 12 MP photo made at quality
     * 90 is 1.1-1.4 MB, like the phone photo of issue 14 (1.1 MB); an enlarged photo alone
     * compresses to a fraction of that and decodes faster than a real one, since entropy decoding
     * costs by the byte.
     */
    private static final double NOISE_SIGMA = 1.5;

    private LargeJpegs() {
    }

    /**
     * {@code photo} (8-bit BGR) centre-cropped to the aspect of width x height and enlarged to it,
     * as a JPEG of the given quality.
     */
    public static byte[] photo(Mat photo, int width, int height, int quality, long seed) {
        double aspect = width / (double) height;
        int cw = Math.min(photo.cols(), (int) Math.round(photo.rows() * aspect));
        int ch = Math.min(photo.rows(), (int) Math.round(cw / aspect));
        try (Rect rect = new Rect((photo.cols() - cw) / 2, (photo.rows() - ch) / 2, cw, ch); Mat crop = new Mat(photo, rect)) {
            return enlarge(crop, width, height, false, quality, seed);
        }
    }

    /**
     * A seeded variant of {@code photo}: a crop of 70-100 % of each side, sometimes mirrored,
     * enlarged so that its shorter side is {@code shorter}, at JPEG quality 85-95.
     */
    public static byte[] variant(Mat photo, int shorter, long seed) {
        Random random = new Random(seed);
        int cw = (int) (photo.cols() * (0.7 + 0.3 * random.nextDouble()));
        int ch = (int) (photo.rows() * (0.7 + 0.3 * random.nextDouble()));
        int x = random.nextInt(photo.cols() - cw + 1);
        int y = random.nextInt(photo.rows() - ch + 1);
        double factor = shorter / (double) Math.min(cw, ch);
        boolean mirror = random.nextBoolean();
        int quality = 85 + random.nextInt(11);
        try (Rect rect = new Rect(x, y, cw, ch); Mat crop = new Mat(photo, rect)) {
            return enlarge(crop, (int) Math.round(cw * factor), (int) Math.round(ch * factor), mirror, quality, seed);
        }
    }

    private static byte[] enlarge(Mat crop, int width, int height, boolean mirror, int quality, long seed) {
        try (Mat big = new Mat(); Size size = new Size(width, height)) {
            opencv_imgproc.resize(crop, big, size, 0, 0, opencv_imgproc.INTER_CUBIC);
            if (mirror) {
                opencv_core.flip(big, big, 1);
            }
            try (Mat noise = new Mat(big.size(), opencv_core.CV_16SC3); Scalar zero = new Scalar(0.0); Scalar sigmaValue = new Scalar(NOISE_SIGMA);
                 Mat mean = new Mat(1, 1, opencv_core.CV_64F, zero); Mat sigma = new Mat(1, 1, opencv_core.CV_64F, sigmaValue);
                 Mat mask = new Mat()) {
                opencv_core.setRNGSeed((int) seed);
                opencv_core.randn(noise, mean, sigma);
                // signed noise onto 8-bit pixels, saturating at 0 and 255
                opencv_core.add(big, noise, big, mask, opencv_core.CV_8U);
            }
            try (BytePointer out = new BytePointer(); IntPointer params = new IntPointer(opencv_imgcodecs.IMWRITE_JPEG_QUALITY, quality)) {
                if (!opencv_imgcodecs.imencode(".jpg", big, out, params)) {
                    throw new IllegalStateException("OpenCV could not encode a JPEG of " + width + "x" + height);
                }
                byte[] bytes = new byte[(int) out.limit()];
                out.get(bytes);
                return bytes;
            }
        }
    }
}
