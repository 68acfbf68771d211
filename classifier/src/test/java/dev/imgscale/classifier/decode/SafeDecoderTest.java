package dev.imgscale.classifier.decode;

import static org.bytedeco.opencv.global.opencv_core.CV_16UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_32FC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC4;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.imgscale.classifier.TestAssets;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

class SafeDecoderTest {

    @TempDir
    static Path corpusDir;

    private static Map<String, ErrorCode> bad;
    private static List<String> good;
    private final SafeDecoder decoder = new SafeDecoder();

    @BeforeAll
    static void writeCorpus() throws IOException {
        bad = BadImageCorpus.writeTo(corpusDir.resolve("bad"));
        good = BadImageCorpus.writeGood(corpusDir.resolve("good"));
    }

    private ImageRejectedException assertRejected(ErrorCode code, Path file, SafeDecoder with) {
        ImageRejectedException e;
        try (Mat m = with.decode(file)) {
            throw new AssertionError(file.getFileName() + " decoded to " + describe(m) + ", expected " + code);
        } catch (ImageRejectedException rejected) {
            e = rejected;
        }
        assertEquals(code, e.code(), () -> file.getFileName() + " got the wrong code; message: " + e.getMessage());
        assertFalse(e.getMessage().isBlank(), "the message must say what is wrong");
        return e;
    }

    private static String describe(Mat m) {
        return m.cols() + "x" + m.rows() + " type " + m.type();
    }

    /** B, G, R at (x, y). */
    private static int[] pixel(Mat m, int x, int y) {
        byte[] bgr = new byte[3];
        m.ptr(y, x).get(bgr);
        return new int[] {bgr[0] & 0xFF, bgr[1] & 0xFF, bgr[2] & 0xFF};
    }

    private static void assertPixelNear(int[] expected, int[] actual, int tolerance, String what) {
        for (int c = 0; c < 3; c++) {
            if (Math.abs(expected[c] - actual[c]) > tolerance) {
                throw new AssertionError(what + ": expected BGR about " + Arrays.toString(expected) + " (+-"
                        + tolerance + ") but was " + Arrays.toString(actual));
            }
        }
    }

    // ------------------------------------------------------------------ the bad corpus

    @TestFactory
    Stream<DynamicTest> everyBadFileIsRejectedWithItsExpectedCode() {
        assertTrue(bad.size() >= 12, "the corpus should hold at least 12 kinds of bad file, has " + bad.keySet());
        return bad.entrySet().stream().map(e -> dynamicTest(e.getKey() + " is rejected as " + e.getValue(),
                () -> assertRejected(e.getValue(), corpusDir.resolve("bad").resolve(e.getKey()), decoder)));
    }

    @Test
    void theSameCodesComeFromTheByteArrayEntryPoint() throws IOException {
        for (Map.Entry<String, ErrorCode> e : bad.entrySet()) {
            byte[] data = Files.readAllBytes(corpusDir.resolve("bad").resolve(e.getKey()));
            ImageRejectedException x = assertThrows(ImageRejectedException.class, () -> decoder.decode(data).close(),
                    e.getKey());
            assertEquals(e.getValue(), x.code(), () -> e.getKey() + ": " + x.getMessage());
        }
    }

    @Test
    void pngBombIsRejectedFromItsHeaderQuicklyAndSaysHowBig() throws IOException {
        byte[] bomb = Files.readAllBytes(corpusDir.resolve("bad/bomb.png"));
        assertTrue(bomb.length < 1024, "the bomb should be tiny, is " + bomb.length + " bytes");
        ImageRejectedException e = assertTimeout(Duration.ofMillis(500),
                () -> assertThrows(ImageRejectedException.class, () -> decoder.decode(bomb).close()),
                "a bare imdecode takes 5 s and 1.9 GB on this file; the header check must not");
        assertEquals(ErrorCode.TOO_MANY_PIXELS, e.code());
        assertEquals("the PNG declares 25000x25000 pixels (625.0 MP), over the 50.0 MP limit", e.getMessage());
    }

    @Test
    void jpegClaiming30000SquareIsRejectedBeforeDecodeQuickly() {
        ImageRejectedException e = assertTimeout(Duration.ofMillis(500),
                () -> assertRejected(ErrorCode.TOO_MANY_PIXELS, corpusDir.resolve("bad/huge_sof.jpg"), decoder));
        assertTrue(e.getMessage().contains("30000x30000"), e.getMessage());
    }

    @Test
    void gifIsRejectedWithAdviceToConvert() {
        ImageRejectedException e = assertRejected(ErrorCode.UNSUPPORTED, corpusDir.resolve("bad/animation.gif"), decoder);
        assertTrue(e.getMessage().contains("PNG or JPEG"), e.getMessage());
    }

    @Test
    void structurallyValidPngWithGarbagePixelDataFailsInOpenCvAndIsCorrupt() {
        ImageRejectedException e = assertRejected(ErrorCode.CORRUPT, corpusDir.resolve("bad/bad_pixel_data.png"), decoder);
        assertTrue(e.getMessage().startsWith("OpenCV could not decode"), e.getMessage());
    }

    // ------------------------------------------------------------------ limits and files

    @Test
    void fileOverTheByteLimitIsTooLargeFromPathAndFromBytes() throws Exception {
        SafeDecoder small = new SafeDecoder(new DecodeLimits(4096, DecodeLimits.DEFAULT.maxPixels()));
        Path dir = corpusDir.resolve("oversized");
        Path file = dir.resolve(BadImageCorpus.writeOversized(dir, 4096));
        assertEquals(4097, Files.size(file));
        ImageRejectedException e = assertRejected(ErrorCode.TOO_LARGE, file, small);
        assertEquals("the file is 4097 bytes, over the limit of 4096 bytes", e.getMessage());
        byte[] data = Files.readAllBytes(file);
        assertEquals(ErrorCode.TOO_LARGE,
                assertThrows(ImageRejectedException.class, () -> small.decode(data).close()).code());
        // The same file is a valid, padded JPEG under the default limit.
        try (Mat m = decoder.decode(file)) {
            assertEquals(BadImageCorpus.GOOD_WIDTH, m.cols());
        }
    }

    @Test
    void fiveGigabyteFileIsRejectedFromItsSizeWithoutBeingRead() throws Exception {
        Path file = corpusDir.resolve("huge.jpg");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(5L * 1024 * 1024 * 1024); // sparse: no disk space used
        }
        try {
            ImageRejectedException e = assertTimeout(Duration.ofMillis(500),
                    () -> assertRejected(ErrorCode.TOO_LARGE, file, decoder));
            assertEquals("the file is 5.0 GiB, over the limit of 20.0 MiB", e.getMessage());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void declaredPixelsAreComparedWithTheConfiguredLimit() throws ImageRejectedException {
        byte[] png = BadImageCorpus.encode(".png", BadImageCorpus.pattern(CV_8UC3)); // 40x20 = 800 pixels
        assertEquals(new ImageHeader(ImageFormat.PNG, 40, 20), new SafeDecoder(new DecodeLimits(1 << 20, 800)).check(png));
        ImageRejectedException e = assertThrows(ImageRejectedException.class,
                () -> new SafeDecoder(new DecodeLimits(1 << 20, 799)).decode(png).close());
        assertEquals(ErrorCode.TOO_MANY_PIXELS, e.code());
        assertEquals("the PNG declares 40x20 pixels (800), over the limit of 799 pixels", e.getMessage());
    }

    @Test
    void missingFileAndDirectoryAreUnreadable() throws IOException {
        assertRejected(ErrorCode.UNREADABLE, corpusDir.resolve("no-such-file.jpg"), decoder);
        Path dir = Files.createDirectories(corpusDir.resolve("a-directory.jpg"));
        assertRejected(ErrorCode.UNREADABLE, dir, decoder);
    }

    @Test
    void emptyByteArrayIsEmptyNotANullPointerException() {
        assertEquals(ErrorCode.EMPTY,
                assertThrows(ImageRejectedException.class, () -> decoder.decode(new byte[0])).code());
    }

    // ------------------------------------------------------------------ the good corpus

    @TestFactory
    Stream<DynamicTest> everyOddButValidImageDecodesTo8BitBgrWithItsPixelsInPlace() {
        return good.stream().map(name -> dynamicTest(name + " decodes to 8-bit BGR, marker in place", () -> {
            try (Mat m = decoder.decode(corpusDir.resolve("good").resolve(name))) {
                assertEquals(CV_8UC3, m.type(), () -> name + " decoded to " + describe(m));
                boolean rotated = name.equals(BadImageCorpus.EXIF_ROTATED);
                int w = rotated ? BadImageCorpus.GOOD_HEIGHT : BadImageCorpus.GOOD_WIDTH;
                int h = rotated ? BadImageCorpus.GOOD_WIDTH : BadImageCorpus.GOOD_HEIGHT;
                assertEquals(w + "x" + h, m.cols() + "x" + m.rows(), name + " size");
                boolean gray = name.startsWith("gray");
                int[] marker = gray ? new int[] {255, 255, 255} : BadImageCorpus.MARKER_BGR;
                int bg = BadImageCorpus.BACKGROUND;
                int tolerance = name.endsWith(".jpg") || name.equals("lossy.webp") ? 40 : 2;
                // Stored marker: top-left quadrant. After EXIF orientation 6 (90 degrees clockwise): top-right.
                int mx = rotated ? w * 3 / 4 : w / 4;
                assertPixelNear(marker, pixel(m, mx, h / 4), tolerance, name + " marker quadrant");
                assertPixelNear(new int[] {bg, bg, bg}, pixel(m, rotated ? w / 4 : w * 3 / 4, h / 4), tolerance,
                        name + " background beside the marker");
                assertPixelNear(new int[] {bg, bg, bg}, pixel(m, mx, h * 3 / 4), tolerance,
                        name + " background below the marker");
            }
        }));
    }

    @Test
    void exifOrientation6RotatesA40x20JpegTo20x40() throws Exception {
        try (Mat m = decoder.decode(corpusDir.resolve("good").resolve(BadImageCorpus.EXIF_ROTATED))) {
            assertEquals("20x40", m.cols() + "x" + m.rows(), "EXIF orientation 6 must be applied on decode");
        }
    }

    @Test
    void realDevelopmentImagesDecodeToTheSizeTheirHeadersDeclare() throws Exception {
        List<Path> images;
        try (Stream<Path> files = Files.list(TestAssets.images())) {
            images = files.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).matches(".*\\.(jpe?g|png|bmp)")).sorted().toList();
        }
        assertFalse(images.isEmpty(), "no development images in " + TestAssets.images());
        for (Path image : images) {
            byte[] data = Files.readAllBytes(image);
            ImageHeader header = decoder.check(data);
            try (Mat m = decoder.decode(image)) {
                assertEquals(CV_8UC3, m.type(), image.toString());
                assertEquals(header.width() + "x" + header.height(), m.cols() + "x" + m.rows(),
                        image + ": decoded size differs from the declared " + header);
            }
        }
    }

    // ------------------------------------------------------------------ conversion and sharing

    @Test
    void toBgr8ConvertsGrayAlphaSixteenBitAndFloatTo8UC3() throws Exception {
        Object[][] cases = {
            {new Mat(2, 3, CV_8UC1, new Scalar(200)), new int[] {200, 200, 200}},
            {new Mat(2, 3, CV_8UC4, new Scalar(10, 20, 30, 40)), new int[] {10, 20, 30}},
            {new Mat(2, 3, CV_16UC1, new Scalar(65535)), new int[] {255, 255, 255}},
            {new Mat(2, 3, CV_32FC3, new Scalar(0.0, 0.5, 1.0, 0)), new int[] {0, 128, 255}},
        };
        for (Object[] c : cases) {
            Mat in = (Mat) c[0];
            int type = in.type();
            try (Mat out = SafeDecoder.toBgr8(in)) {
                assertEquals(CV_8UC3, out.type(), "from type " + type);
                assertEquals("3x2", out.cols() + "x" + out.rows(), "from type " + type);
                assertPixelNear((int[]) c[1], pixel(out, 2, 1), 1, "from type " + type);
            }
        }
    }

    @Test
    void oneDecoderSharedByFourThreadsGivesTheSameAnswers() throws Exception {
        List<Path> files = new ArrayList<>();
        bad.keySet().forEach(n -> files.add(corpusDir.resolve("bad").resolve(n)));
        good.forEach(n -> files.add(corpusDir.resolve("good").resolve(n)));
        List<String> expected = new ArrayList<>();
        for (Path f : files) {
            expected.add(outcome(f));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<String>>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                runs.add(pool.submit(() -> {
                    List<String> got = new ArrayList<>();
                    for (int round = 0; round < 5; round++) {
                        got.clear();
                        for (Path f : files) {
                            got.add(outcome(f));
                        }
                    }
                    return got;
                }));
            }
            for (Future<List<String>> run : runs) {
                assertArrayEquals(expected.toArray(), run.get().toArray());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private String outcome(Path file) {
        try (Mat m = decoder.decode(file)) {
            return file.getFileName() + " " + describe(m);
        } catch (ImageRejectedException e) {
            return file.getFileName() + " " + e.code();
        }
    }
}
