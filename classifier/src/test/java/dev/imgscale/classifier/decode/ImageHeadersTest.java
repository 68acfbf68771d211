package dev.imgscale.classifier.decode;

import static dev.imgscale.classifier.decode.BadImageCorpus.ascii;
import static dev.imgscale.classifier.decode.BadImageCorpus.concat;
import static dev.imgscale.classifier.decode.BadImageCorpus.encode;
import static dev.imgscale.classifier.decode.BadImageCorpus.insert;
import static org.bytedeco.opencv.global.opencv_core.CV_16UC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC4;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.Test;

class ImageHeadersTest {

    private static Mat image(int width, int height, int type) {
        return new Mat(height, width, type, new Scalar(30, 90, 200, 255));
    }

    private static void assertHeader(ImageFormat format, int width, int height, byte[] data) {
        ImageHeader header;
        try {
            header = ImageHeaders.read(data);
        } catch (ImageRejectedException e) {
            throw new AssertionError("expected a " + format + " header of " + width + "x" + height
                    + " but it was rejected: " + e, e);
        }
        assertEquals(new ImageHeader(format, width, height), header,
                () -> "declared header of " + data.length + " bytes starting " + hex(data, 16));
    }

    private static ImageRejectedException assertRejected(ErrorCode code, byte[] data) {
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> ImageHeaders.read(data),
                () -> "expected " + code + " for " + data.length + " bytes starting " + hex(data, 16));
        assertEquals(code, e.code(), () -> "wrong code; message was: " + e.getMessage());
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "message must say what is wrong");
        return e;
    }

    private static String hex(byte[] d, int n) {
        return HexFormat.ofDelimiter(" ").withUpperCase().formatHex(d, 0, Math.min(n, d.length));
    }

    // ------------------------------------------------------------------ JPEG

    @Test
    void jpegBaselineDeclaresItsFrameSize() {
        assertHeader(ImageFormat.JPEG, 123, 45, encode(".jpg", image(123, 45, CV_8UC3)));
    }

    @Test
    void jpegProgressiveSof2IsRead() {
        byte[] jpeg = encode(".jpg", image(77, 33, CV_8UC3), opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1);
        int sof = BadImageCorpus.findJpegSegment(jpeg, true);
        assertEquals(0xC2, jpeg[sof + 1] & 0xFF, "imencode with IMWRITE_JPEG_PROGRESSIVE should write SOF2");
        assertHeader(ImageFormat.JPEG, 77, 33, jpeg);
    }

    @Test
    void jpegSofPatchedTo30000SquareIsReportedAsDeclared() {
        byte[] jpeg = BadImageCorpus.withJpegFrameSize(encode(".jpg", image(40, 20, CV_8UC3)), 30_000, 30_000);
        assertHeader(ImageFormat.JPEG, 30_000, 30_000, jpeg);
    }

    @Test
    void jpegDhtMarkerC4IsNotMistakenForAFrameHeader() {
        // A DHT (FFC4) segment placed before the real SOF: a naive "any FFCx" reader takes its bytes as a size.
        byte[] jpeg = encode(".jpg", image(50, 10, CV_8UC3));
        byte[] dht = {(byte) 0xFF, (byte) 0xC4, 0, 8, 0x01, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F};
        assertHeader(ImageFormat.JPEG, 50, 10, insert(jpeg, 2, dht));
    }

    @Test
    void jpegFillBytesAndStrayBytesBetweenSegmentsAreSkippedLikeLibjpeg() {
        byte[] jpeg = encode(".jpg", image(64, 48, CV_8UC3));
        int sof = BadImageCorpus.findJpegSegment(jpeg, true);
        byte[] withFill = insert(jpeg, sof, new byte[] {0x00, 0x12, (byte) 0xFF, (byte) 0xFF});
        assertHeader(ImageFormat.JPEG, 64, 48, withFill);
    }

    @Test
    void jpegWithoutEndMarkerIsCorruptEvenWhenOnlyTheLastTwoBytesAreMissing() {
        byte[] jpeg = encode(".jpg", image(64, 48, CV_8UC3));
        ImageRejectedException e = assertRejected(ErrorCode.CORRUPT, Arrays.copyOf(jpeg, jpeg.length - 2));
        assertTrue(e.getMessage().contains("FFD9"), e.getMessage());
    }

    @Test
    void jpegTrailingDataAfterEndMarkerIsAllowedWhateverItsLength() {
        // Longer than 64 KB and without an FFD9 pair: a "last 64 KB" search would reject this.
        byte[] jpeg = BadImageCorpus.withTrailingData(encode(".jpg", image(64, 48, CV_8UC3)), 200_000);
        assertHeader(ImageFormat.JPEG, 64, 48, jpeg);
    }

    @Test
    void jpegEndMarkerInsideAnExifThumbnailDoesNotHideTruncation() {
        // An APP1 segment whose payload holds a whole tiny JPEG (SOI ... EOI), as EXIF thumbnails do.
        byte[] thumbnail = encode(".jpg", image(8, 8, CV_8UC3));
        byte[] app1 = concat(new byte[] {(byte) 0xFF, (byte) 0xE1, (byte) ((thumbnail.length + 2) >> 8),
                (byte) (thumbnail.length + 2)}, thumbnail);
        byte[] photo = insert(BadImageCorpus.noisyJpeg(), 2, app1);
        assertHeader(ImageFormat.JPEG, 320, 240, photo);
        assertRejected(ErrorCode.CORRUPT, Arrays.copyOf(photo, photo.length / 2));
    }

    @Test
    void jpegWithMoreScansThanTheLimitIsCorrupt() {
        byte[] progressive = encode(".jpg", image(40, 20, CV_8UC3), opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1);
        // 10 scans from libjpeg's default script; at the limit it is still fine.
        byte[] atLimit = BadImageCorpus.withRepeatedLastScan(progressive, ImageHeaders.MAX_JPEG_SCANS - 10);
        assertHeader(ImageFormat.JPEG, 40, 20, atLimit);
        byte[] overLimit = BadImageCorpus.withRepeatedLastScan(progressive, ImageHeaders.MAX_JPEG_SCANS - 9);
        ImageRejectedException e = assertRejected(ErrorCode.CORRUPT, overLimit);
        assertTrue(e.getMessage().contains("scans"), e.getMessage());
    }

    @Test
    void jpegScanBeforeFrameHeaderOrEndBeforeFrameIsCorrupt() {
        assertRejected(ErrorCode.CORRUPT, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xDA, 0, 2});
        assertRejected(ErrorCode.CORRUPT, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xD9});
        assertRejected(ErrorCode.CORRUPT, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF});
    }

    // ------------------------------------------------------------------ PNG

    @Test
    void pngDeclaresIhdrSizeForEveryColourType() {
        assertHeader(ImageFormat.PNG, 31, 17, encode(".png", image(31, 17, CV_8UC3)));
        assertHeader(ImageFormat.PNG, 31, 17, encode(".png", image(31, 17, CV_8UC1)));
        assertHeader(ImageFormat.PNG, 31, 17, encode(".png", image(31, 17, CV_8UC4)));
        assertHeader(ImageFormat.PNG, 31, 17, encode(".png", image(31, 17, CV_16UC3)));
    }

    @Test
    void pngBombHeaderIsReadWithoutInflating() {
        assertHeader(ImageFormat.PNG, 25_000, 25_000, BadImageCorpus.pngBomb(25_000, 25_000));
    }

    @Test
    void pngWithoutIendIsCorruptButDataAfterIendIsAllowed() {
        byte[] png = encode(".png", image(31, 17, CV_8UC3));
        ImageRejectedException e = assertRejected(ErrorCode.CORRUPT, Arrays.copyOf(png, png.length - 12));
        assertTrue(e.getMessage().contains("IEND"), e.getMessage());
        assertRejected(ErrorCode.CORRUPT, Arrays.copyOf(png, png.length - 1));
        assertHeader(ImageFormat.PNG, 31, 17, concat(png, ascii("trailing garbage")));
    }

    @Test
    void pngWhoseFirstChunkIsNotIhdrIsCorrupt() {
        byte[] png = encode(".png", image(31, 17, CV_8UC3));
        png[12] = 'X';
        assertRejected(ErrorCode.CORRUPT, png);
    }

    // ------------------------------------------------------------------ BMP

    @Test
    void bmpFromImencodeAndTopDownAndCoreHeader() {
        assertHeader(ImageFormat.BMP, 33, 21, encode(".bmp", image(33, 21, CV_8UC3)));
        assertHeader(ImageFormat.BMP, 30_000, 30_000, BadImageCorpus.bmpHeaderOnly(30_000, -30_000));
        ByteBuffer core = ByteBuffer.allocate(26 + 6).order(ByteOrder.LITTLE_ENDIAN);
        core.put((byte) 'B').put((byte) 'M').putInt(32).putInt(0).putInt(26);
        core.putInt(12).putShort((short) 2).putShort((short) 1).putShort((short) 1).putShort((short) 24);
        assertHeader(ImageFormat.BMP, 2, 1, core.array());
    }

    @Test
    void bmpWithNegativeWidthOrUnknownHeaderSizeIsCorrupt() {
        assertRejected(ErrorCode.CORRUPT, BadImageCorpus.bmpHeaderOnly(-5, 5));
        byte[] bmp = BadImageCorpus.bmpHeaderOnly(5, 5);
        bmp[14] = 7;
        assertRejected(ErrorCode.CORRUPT, bmp);
        assertRejected(ErrorCode.CORRUPT, BadImageCorpus.bmpHeaderOnly(5, Integer.MIN_VALUE));
    }

    // ------------------------------------------------------------------ GIF

    @Test
    void gifLogicalScreenSize() {
        assertHeader(ImageFormat.GIF, 300, 7, BadImageCorpus.animatedGif(300, 7));
    }

    // ------------------------------------------------------------------ WebP

    @Test
    void webpLossyVp8LosslessVp8lAndExtendedVp8x() {
        byte[] lossy = encode(".webp", image(301, 123, CV_8UC3), opencv_imgcodecs.IMWRITE_WEBP_QUALITY, 80);
        assertEquals("VP8 ", new String(lossy, 12, 4, StandardCharsets.US_ASCII));
        assertHeader(ImageFormat.WEBP, 301, 123, lossy);

        byte[] lossless = encode(".webp", image(301, 123, CV_8UC3), opencv_imgcodecs.IMWRITE_WEBP_QUALITY, 101);
        assertEquals("VP8L", new String(lossless, 12, 4, StandardCharsets.US_ASCII));
        assertHeader(ImageFormat.WEBP, 301, 123, lossless);

        assertHeader(ImageFormat.WEBP, 16_384, 9_000, BadImageCorpus.webpCanvasOnly(16_384, 9_000));
    }

    @Test
    void webpWithUnknownFirstChunkIsCorrupt() {
        byte[] webp = BadImageCorpus.webpCanvasOnly(10, 10);
        webp[15] = 'Q';
        assertRejected(ErrorCode.CORRUPT, webp);
    }

    // ------------------------------------------------------------------ TIFF

    @Test
    void tiffLittleEndianFromImencode() {
        byte[] tiff = encode(".tiff", image(45, 19, CV_8UC3));
        assertEquals('I', tiff[0]);
        assertHeader(ImageFormat.TIFF, 45, 19, tiff);
    }

    @Test
    void tiffBigEndianWithLongAndShortSizes() {
        assertHeader(ImageFormat.TIFF, 70_000, 3, tiff(ByteOrder.BIG_ENDIAN, false, 4, 70_000, 3, 3));
        assertHeader(ImageFormat.TIFF, 640, 480, tiff(ByteOrder.LITTLE_ENDIAN, false, 3, 640, 3, 480));
    }

    @Test
    void bigTiffWithLong8Sizes() {
        assertHeader(ImageFormat.TIFF, 1000, 2000, tiff(ByteOrder.BIG_ENDIAN, true, 16, 1000, 16, 2000));
        assertHeader(ImageFormat.TIFF, 1000, 2000, tiff(ByteOrder.LITTLE_ENDIAN, true, 3, 1000, 4, 2000));
    }

    @Test
    void tiffWithoutSizeTagsOrWithDirectoryOutsideTheFileIsCorrupt() {
        byte[] noHeight = tiff(ByteOrder.LITTLE_ENDIAN, false, 3, 640, 3, 480);
        noHeight[8 + 2 + 12] = 0x02; // tag 257 -> 258 (BitsPerSample)
        assertRejected(ErrorCode.CORRUPT, noHeight);
        byte[] farIfd = tiff(ByteOrder.LITTLE_ENDIAN, false, 3, 640, 3, 480);
        farIfd[7] = 0x7F;
        assertRejected(ErrorCode.CORRUPT, farIfd);
    }

    /** A minimal TIFF or BigTIFF whose first IFD holds ImageWidth and ImageLength with the given types. */
    private static byte[] tiff(ByteOrder order, boolean big, int widthType, long width, int heightType, long height) {
        ByteBuffer b = ByteBuffer.allocate(128).order(order);
        b.put(order == ByteOrder.LITTLE_ENDIAN ? ascii("II") : ascii("MM"));
        if (big) {
            b.putShort((short) 43).putShort((short) 8).putShort((short) 0).putLong(16);
            b.putLong(2);
        } else {
            b.putShort((short) 42).putInt(8);
            b.putShort((short) 2);
        }
        tiffEntry(b, big, 256, widthType, width);
        tiffEntry(b, big, 257, heightType, height);
        if (big) {
            b.putLong(0);
        } else {
            b.putInt(0);
        }
        return Arrays.copyOf(b.array(), b.position());
    }

    private static void tiffEntry(ByteBuffer b, boolean big, int tag, int type, long value) {
        b.putShort((short) tag).putShort((short) type);
        if (big) {
            b.putLong(1);
        } else {
            b.putInt(1);
        }
        int field = big ? 8 : 4;
        int start = b.position();
        switch (type) {
            case 3 -> b.putShort((short) value);
            case 4 -> b.putInt((int) value);
            default -> b.putLong(value);
        }
        while (b.position() < start + field) {
            b.put((byte) 0);
        }
    }

    // ------------------------------------------------------------------ PNM

    @Test
    void pnmBinaryFromImencode() {
        byte[] pgm = encode(".pgm", image(29, 13, CV_8UC1));
        assertEquals("P5", new String(pgm, 0, 2, StandardCharsets.US_ASCII));
        assertHeader(ImageFormat.PNM, 29, 13, pgm);
        byte[] ppm = encode(".ppm", image(29, 13, CV_8UC3));
        assertEquals("P6", new String(ppm, 0, 2, StandardCharsets.US_ASCII));
        assertHeader(ImageFormat.PNM, 29, 13, ppm);
    }

    @Test
    void pnmTextHeadersWithComments() {
        assertHeader(ImageFormat.PNM, 7, 5, ascii("P2\n# made by hand\n  7 # width\n5\r\n# max\n255\n0 1 2\n"));
        assertHeader(ImageFormat.PNM, 3, 2, ascii("P1 3 2 010 101"));
        assertHeader(ImageFormat.PNM, 4, 6, ascii("P7\nWIDTH 4\nHEIGHT 6\nDEPTH 3\nMAXVAL 255\n"
                + "TUPLTYPE RGB\nENDHDR\n"));
    }

    @Test
    void pnmWithMissingOrHugeSizeIsCorruptAndWithoutWhitespaceIsUnsupported() {
        assertRejected(ErrorCode.CORRUPT, ascii("P6\n# only a comment\n"));
        assertRejected(ErrorCode.CORRUPT, ascii("P5 99999999999 1 255\n"));
        assertRejected(ErrorCode.CORRUPT, ascii("P3 x 1 255\n"));
        assertRejected(ErrorCode.CORRUPT, ascii("P7\nWIDTH 4\nDEPTH 3\nENDHDR\n"));
        assertRejected(ErrorCode.UNSUPPORTED, ascii("P6x"));
    }

    // ------------------------------------------------------------------ unknown input

    @Test
    void unknownContentIsUnsupportedAndTheMessageSaysWhatItLooksLike() {
        assertTrue(assertRejected(ErrorCode.UNSUPPORTED, ascii("just some notes\n")).getMessage().contains("text"));
        assertTrue(assertRejected(ErrorCode.UNSUPPORTED, ascii("\n <!DOCTYPE html><html></html>"))
                .getMessage().contains("HTML"));
        assertTrue(assertRejected(ErrorCode.UNSUPPORTED, ascii("%PDF-1.7\n")).getMessage().contains("PDF"));
        assertRejected(ErrorCode.UNSUPPORTED, BadImageCorpus.randomBytes(100, 1));
        assertRejected(ErrorCode.UNSUPPORTED, new byte[] {(byte) 0xFF});
        assertRejected(ErrorCode.EMPTY, new byte[0]);
    }

    // ------------------------------------------------------------------ robustness

    /** One valid sample per parser branch. */
    private static Map<String, byte[]> samples() {
        Map<String, byte[]> s = new LinkedHashMap<>();
        s.put("jpeg", encode(".jpg", image(16, 8, CV_8UC3)));
        s.put("progressive jpeg", encode(".jpg", image(16, 8, CV_8UC3), opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1));
        s.put("png", encode(".png", image(16, 8, CV_8UC4)));
        s.put("bmp", encode(".bmp", image(16, 8, CV_8UC3)));
        s.put("gif", BadImageCorpus.animatedGif(4, 4));
        s.put("webp lossy", encode(".webp", image(16, 8, CV_8UC3), opencv_imgcodecs.IMWRITE_WEBP_QUALITY, 50));
        s.put("webp lossless", encode(".webp", image(16, 8, CV_8UC3), opencv_imgcodecs.IMWRITE_WEBP_QUALITY, 101));
        s.put("webp vp8x", BadImageCorpus.webpCanvasOnly(16, 8));
        s.put("tiff", encode(".tiff", image(16, 8, CV_8UC3)));
        s.put("tiff be", tiff(ByteOrder.BIG_ENDIAN, false, 4, 16, 3, 8));
        s.put("bigtiff", tiff(ByteOrder.LITTLE_ENDIAN, true, 16, 16, 16, 8));
        s.put("pgm", encode(".pgm", image(16, 8, CV_8UC1)));
        s.put("pam", ascii("P7\nWIDTH 16\nHEIGHT 8\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n"));
        return s;
    }

    @Test
    void everyTruncationOfEveryFormatEndsInARejectionOrAHeaderNeverAnUncheckedException() {
        for (Map.Entry<String, byte[]> e : samples().entrySet()) {
            byte[] full = e.getValue();
            for (int n = 0; n < full.length; n++) {
                byte[] cut = Arrays.copyOf(full, n);
                try {
                    ImageHeaders.read(cut);
                } catch (ImageRejectedException expected) {
                    // fine
                } catch (RuntimeException bug) {
                    fail(e.getKey() + " cut to " + n + " bytes (" + hex(cut, 32) + ") threw " + bug, bug);
                }
            }
        }
    }

    @Test
    void randomlyMutatedHeadersNeverThrowAnUncheckedException() {
        Random random = new Random(7);
        for (Map.Entry<String, byte[]> e : samples().entrySet()) {
            byte[] original = e.getValue();
            for (int round = 0; round < 2_000; round++) {
                byte[] mutated = original.clone();
                int flips = 1 + random.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    int at = random.nextInt(Math.min(mutated.length, 64)); // headers live at the front
                    mutated[at] = (byte) random.nextInt(256);
                }
                try {
                    ImageHeader h = ImageHeaders.read(mutated);
                    assertTrue(h.width() >= 0 && h.height() >= 0, () -> "negative size " + h);
                } catch (ImageRejectedException expected) {
                    // fine
                } catch (RuntimeException bug) {
                    fail(e.getKey() + " mutated to " + hex(mutated, 64) + " threw " + bug, bug);
                }
            }
        }
    }
}
