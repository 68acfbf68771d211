package dev.imgscale.classifier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imgscale.classifier.catalog.InputSpec;
import dev.imgscale.classifier.catalog.ModelCatalog;
import java.util.List;
import java.util.Random;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Size;
import org.junit.jupiter.api.Test;

/** The one-pass preprocessing against the plain recipe: resize, crop a copy, then convert pixel by pixel. */
class PreprocessorTest {
    private static final InputSpec TORCHVISION = ModelCatalog.builtIn().preset("torchvision").input();

    @Test
    void writesTheSameTensorAsResizeCropAndConvertOneAfterTheOther() {
        for (int[] size : new int[][] {{640, 480}, {300, 700}, {256, 256}, {224, 300}, {1000, 257}}) {
            try (Mat image = randomImage(size[0], size[1], size[0] * 31L + size[1])) {
                float[] expected = reference(image, TORCHVISION);
                float[] actual = new Preprocessor(TORCHVISION).toTensor(image);
                assertArrayEquals(expected, actual, 1e-5f, size[0] + "x" + size[1]);
            }
        }
    }

    @Test
    void fillsItsSlotOfABatchTensorAndNothingElse() {
        Preprocessor pre = new Preprocessor(TORCHVISION);
        int per = TORCHVISION.tensorLength();
        float[] batch = new float[3 * per];
        java.util.Arrays.fill(batch, 7f);
        try (Mat image = randomImage(500, 400, 5)) {
            pre.toTensor(image, batch, per);
            float[] alone = pre.toTensor(image);
            assertArrayEquals(alone, java.util.Arrays.copyOfRange(batch, per, 2 * per));
            assertEquals(7f, batch[per - 1]);
            assertEquals(7f, batch[2 * per]);
            assertThrows(IndexOutOfBoundsException.class, () -> pre.toTensor(image, batch, 2 * per + 1));
        }
    }

    @Test
    void needsTheResizeTargetOrTheLargerSideOfAStraightResize() {
        assertEquals(256, new Preprocessor(TORCHVISION).minShorterSide());
        InputSpec straight = new InputSpec(224, 160, 0, "area", "center", 1, List.of(0.0, 0.0, 0.0), List.of(1.0, 1.0, 1.0), "BGR", "NCHW");
        assertEquals(224, new Preprocessor(straight).minShorterSide());
        try (Mat image = randomImage(400, 300, 9)) {
            assertArrayEquals(reference(image, straight), new Preprocessor(straight).toTensor(image), 1e-5f);
        }
    }

    @Test
    void resamplesWhatADctScaledDecodeLeavesBilinearlyAndAnythingElseAsTheModelSays() {
        Preprocessor pre = new Preprocessor(TORCHVISION);
        InputSpec linear = new InputSpec(224, 224, 256, "linear", "center", TORCHVISION.scale(), TORCHVISION.mean(), TORCHVISION.std(),
                "RGB", "NCHW");
        // 504x378: a 12 MP photo decoded at 1/8, 1.48x the resize target: the DCT did the area filter
        try (Mat image = randomImage(504, 378, 11)) {
            assertArrayEquals(reference(image, linear), tensor(pre, image, true), 1e-5f, "DCT-scaled: bilinear");
            assertArrayEquals(reference(image, TORCHVISION), tensor(pre, image, false), 1e-5f, "not DCT-scaled: area");
        }
        // a ratio of 2 or more is left to the model's filter even after a scaled decode
        try (Mat image = randomImage(1100, 600, 12)) {
            assertArrayEquals(reference(image, TORCHVISION), tensor(pre, image, true), 1e-5f);
        }
    }

    private static float[] tensor(Preprocessor pre, Mat image, boolean dctScaled) {
        float[] out = new float[TORCHVISION.tensorLength()];
        pre.toTensor(image, out, 0, dctScaled);
        return out;
    }

    /** The recipe written out plainly: resize, clone the centre crop, then NCHW floats pixel by pixel. */
    private static float[] reference(Mat bgr, InputSpec spec) {
        int w = spec.width();
        int h = spec.height();
        int rw = w;
        int rh = h;
        if (spec.resizeShorter() > 0) {
            double factor = spec.resizeShorter() / (double) Math.min(bgr.cols(), bgr.rows());
            rw = Math.max(w, (int) Math.round(bgr.cols() * factor));
            rh = Math.max(h, (int) Math.round(bgr.rows() * factor));
        }
        try (Mat resized = new Mat(); Size s = new Size(rw, rh)) {
            opencv_imgproc.resize(bgr, resized, s, 0, 0, "linear".equals(spec.interpolation()) ? opencv_imgproc.INTER_LINEAR : opencv_imgproc.INTER_AREA);
            try (Rect r = new Rect((rw - w) / 2, (rh - h) / 2, w, h); Mat roi = new Mat(resized, r); Mat crop = roi.clone()) {
                byte[] px = new byte[w * h * 3];
                crop.data().get(px);
                float[] out = new float[3 * w * h];
                for (int c = 0; c < 3; c++) {
                    int source = "RGB".equals(spec.channels()) ? 2 - c : c;
                    for (int i = 0; i < w * h; i++) {
                        double v = (px[i * 3 + source] & 0xff) * spec.scale();
                        out[c * w * h + i] = (float) ((v - spec.mean().get(c)) / spec.std().get(c));
                    }
                }
                return out;
            }
        }
    }

    private static Mat randomImage(int width, int height, long seed) {
        Mat m = new Mat(height, width, opencv_core.CV_8UC3);
        byte[] bytes = new byte[width * height * 3];
        new Random(seed).nextBytes(bytes);
        m.data().put(bytes);
        return m;
    }
}
