package dev.imgscale.classifier.decode;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SafeDecoder#decode(byte[], int)}: JPEGs decoded at a DCT scale, everything else as before. */
class ScaledDecodeTest {
    private final SafeDecoder decoder = new SafeDecoder();

    @Test
    void picksTheSmallestScaleWhoseShorterSideStillReachesTheTarget() {
        assertEquals(8, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 4032, 3024), 256)); // 504x378
        assertEquals(4, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 2048, 1365), 256)); // 512x342
        assertEquals(2, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 1280, 720), 256));  // 640x360
        assertEquals(1, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 640, 480), 256));   // 240 < 256 at 1/2
        // portrait: the shorter side decides, whichever it is
        assertEquals(8, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 3024, 4032), 256));
        // libjpeg rounds a scaled size up: 2041 / 8 = 255.1 -> 256 is enough
        assertEquals(8, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 3000, 2041), 256));
        assertEquals(4, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 3000, 2040), 256));
        assertEquals(2, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 3000, 511), 256));
        assertEquals(1, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 3000, 510), 256));
    }

    @Test
    void decodesOtherFormatsAndUnscaledRequestsAtFullSize() {
        for (ImageFormat format : new ImageFormat[] {ImageFormat.PNG, ImageFormat.BMP, ImageFormat.WEBP, ImageFormat.TIFF}) {
            assertEquals(1, SafeDecoder.scaleDenominator(new ImageHeader(format, 4032, 3024), 256), format.name());
        }
        assertEquals(1, SafeDecoder.scaleDenominator(new ImageHeader(ImageFormat.JPEG, 4032, 3024), 0));
    }

    @Test
    void aLargeJpegDecodesAtTheChosenScale() throws Exception {
        byte[] jpeg = jpeg(markerImage(2000, 1200), 90);
        try (Mat m = decoder.decode(jpeg, 256)) {
            assertEquals(CV_8UC3, m.type());
            assertEquals("500x300", m.cols() + "x" + m.rows(), "1/4 of 2000x1200 (1/8 would be 150 high)");
        }
        try (Mat m = decoder.decode(jpeg, 0)) {
            assertEquals("2000x1200", m.cols() + "x" + m.rows());
        }
        byte[] png = BadImageCorpus.encode(".png", markerImage(2000, 1200));
        try (Mat m = decoder.decode(png, 256)) {
            assertEquals("2000x1200", m.cols() + "x" + m.rows(), "a PNG has no scaled decode");
        }
    }

    @Test
    void theExifOrientationIsStillAppliedAtAReducedScale() throws Exception {
        // stored 1600x800, marker in the top-left quadrant; orientation 6 = rotate 90 degrees clockwise
        byte[] jpeg = BadImageCorpus.withExifOrientation(jpeg(markerImage(1600, 800), 95), 6);
        try (Mat m = decoder.decode(jpeg, 256)) {
            assertEquals("400x800", m.cols() + "x" + m.rows(), "decoded at 1/2 (800x400), then rotated");
            int[] topRight = pixel(m, 300, 200);
            int[] topLeft = pixel(m, 100, 200);
            assertTrue(topRight[2] > 200 && topRight[1] < 60 && topLeft[2] < 120,
                    "the marker belongs in the top-right quadrant after rotation: top-right BGR " + java.util.Arrays.toString(topRight)
                            + ", top-left " + java.util.Arrays.toString(topLeft));
        }
    }

    @Test
    void theLimitsStillGuardBeforeAScaledDecode(@TempDir Path dir) throws IOException {
        // a JPEG whose header claims 30000x30000 would decode at 1/8 to 3750x3750, but is refused unread
        byte[] bomb = BadImageCorpus.withJpegFrameSize(BadImageCorpus.noisyJpeg(), 30000, 30000);
        assertEquals(ErrorCode.TOO_MANY_PIXELS, assertThrows(ImageRejectedException.class, () -> decoder.decode(bomb, 256)).code());
        byte[] jpeg = jpeg(markerImage(2000, 1200), 90);
        SafeDecoder small = new SafeDecoder(new DecodeLimits(jpeg.length - 1, 50_000_000L));
        assertEquals(ErrorCode.TOO_LARGE, assertThrows(ImageRejectedException.class, () -> small.decode(jpeg, 256)).code());
        SafeDecoder fewPixels = new SafeDecoder(new DecodeLimits(20L << 20, 2_000_000L));
        assertEquals(ErrorCode.TOO_MANY_PIXELS, assertThrows(ImageRejectedException.class, () -> fewPixels.decode(jpeg, 256)).code(),
                "the declared full size counts, not the scaled one");
        // every file of the bad corpus gets the same code scaled as at full size
        Map<String, ErrorCode> bad = BadImageCorpus.writeTo(dir);
        for (Map.Entry<String, ErrorCode> e : bad.entrySet()) {
            Path file = dir.resolve(e.getKey());
            ImageRejectedException rejected = assertThrows(ImageRejectedException.class, () -> {
                try (Mat m = decoder.decode(file, 256)) {
                    m.cols();
                }
            }, e.getKey());
            assertEquals(e.getValue(), rejected.code(), e.getKey() + ": " + rejected.getMessage());
        }
        assertTrue(Files.exists(dir), "corpus written");
    }

    /** A grey BGR image with a red marker in its top-left quadrant (the corpus pattern, enlarged). */
    static Mat markerImage(int width, int height) {
        try (Mat small = BadImageCorpus.pattern(CV_8UC3); Size size = new Size(width, height)) {
            Mat big = new Mat();
            opencv_imgproc.resize(small, big, size, 0, 0, opencv_imgproc.INTER_NEAREST);
            return big;
        }
    }

    static byte[] jpeg(Mat image, int quality) {
        return BadImageCorpus.encode(".jpg", image, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, quality);
    }

    private static int[] pixel(Mat m, int x, int y) {
        byte[] bgr = new byte[3];
        m.ptr(y, x).get(bgr);
        return new int[] {bgr[0] & 0xFF, bgr[1] & 0xFF, bgr[2] & 0xFF};
    }
}
