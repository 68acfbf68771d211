package dev.imgscale.classifier.decode;

import static org.bytedeco.opencv.global.opencv_core.CV_16UC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC4;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Generates a corpus of bad and of valid-but-unusual image files, deterministically and without any
 * binary file in the repository. Test fixture shared by the decoder, CLI and worker tests.
 *
 * <p>{@link #writeTo(Path)} writes files that {@link SafeDecoder} with {@link DecodeLimits#DEFAULT} must
 * reject, with the {@link ErrorCode} each must get. {@link #writeGood(Path)} writes files that must
 * decode: every one is stored as {@value #GOOD_WIDTH}x{@value #GOOD_HEIGHT} pixels (width x height) with
 * a marker in its top-left quadrant ({@link #MARKER_BGR} in colour images, white in grey ones) on a dark
 * grey background; {@link #EXIF_ROTATED} carries EXIF orientation 6 and so decodes to
 * {@value #GOOD_HEIGHT}x{@value #GOOD_WIDTH} with the marker in its top-right quadrant. TOO_LARGE depends
 * on the configured byte limit, so it has its own method, {@link #writeOversized(Path, long)}.
 */
public final class BadImageCorpus {

    public static final int GOOD_WIDTH = 40;
    public static final int GOOD_HEIGHT = 20;
    /** The marker colour, B, G, R: pure red. */
    public static final int[] MARKER_BGR = {0, 0, 255};
    /** The background level of every channel. */
    public static final int BACKGROUND = 64;
    /** The good JPEG with EXIF orientation 6 (rotate 90 degrees clockwise to display). */
    public static final String EXIF_ROTATED = "exif_orientation_6.jpg";
    /** The file {@link #writeOversized(Path, long)} writes. */
    public static final String OVERSIZED = "oversized.jpg";

    private static final long SEED = 20261123L;

    private BadImageCorpus() {
    }

    /**
     * Writes the bad files into {@code dir} and returns file name to the code {@link SafeDecoder} with
     * default limits must reject it with, in a fixed order.
     */
    public static Map<String, ErrorCode> writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, ErrorCode> expected = new LinkedHashMap<>();
        byte[] noisyJpeg = noisyJpeg();
        byte[] noisyPng = encode(".png", noise(160, 120));

        write(dir, expected, "empty.jpg", ErrorCode.EMPTY, new byte[0]);
        write(dir, expected, "notes.txt", ErrorCode.UNSUPPORTED, ascii(
                "Shopping list\n- cat food\n- a new camera, this one only makes text files\n"));
        write(dir, expected, "not_found.jpg", ErrorCode.UNSUPPORTED, ascii(
                "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
                        + "<body><h1>Not Found</h1><p>The requested image was not found.</p></body></html>\n"));
        write(dir, expected, "noise.jpg", ErrorCode.UNSUPPORTED, randomBytes(4096, SEED));
        write(dir, expected, "photo.heic", ErrorCode.UNSUPPORTED, heicLike());
        write(dir, expected, "animation.gif", ErrorCode.UNSUPPORTED, animatedGif(8, 8));
        write(dir, expected, "truncated_2k.jpg", ErrorCode.CORRUPT, Arrays.copyOf(noisyJpeg, 2048));
        write(dir, expected, "truncated.jpg", ErrorCode.CORRUPT, Arrays.copyOf(noisyJpeg, noisyJpeg.length / 2));
        write(dir, expected, "no_frame.jpg", ErrorCode.CORRUPT, jpegWithoutFrame());
        write(dir, expected, "scan_bomb.jpg", ErrorCode.CORRUPT, withRepeatedLastScan(
                encode(".jpg", pattern(CV_8UC3), opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1),
                ImageHeaders.MAX_JPEG_SCANS + 100));
        write(dir, expected, "truncated.png", ErrorCode.CORRUPT, Arrays.copyOf(noisyPng, noisyPng.length / 2));
        write(dir, expected, "truncated_header.png", ErrorCode.CORRUPT, Arrays.copyOf(noisyPng, 20));
        write(dir, expected, "zero_width.png", ErrorCode.CORRUPT, handmadePng(0, 20, zlib(new byte[1])));
        write(dir, expected, "bad_pixel_data.png", ErrorCode.CORRUPT,
                handmadePng(GOOD_WIDTH, GOOD_HEIGHT, randomBytes(300, SEED + 1)));
        write(dir, expected, "bomb.png", ErrorCode.TOO_MANY_PIXELS, pngBomb(25_000, 25_000));
        write(dir, expected, "huge_sof.jpg", ErrorCode.TOO_MANY_PIXELS,
                withJpegFrameSize(encode(".jpg", pattern(CV_8UC3)), 30_000, 30_000));
        write(dir, expected, "bomb.bmp", ErrorCode.TOO_MANY_PIXELS, bmpHeaderOnly(30_000, -30_000));
        write(dir, expected, "bomb.webp", ErrorCode.TOO_MANY_PIXELS, webpCanvasOnly(16_384, 16_384));
        return expected;
    }

    /** Writes valid images in unusual encodings into {@code dir}; returns their file names. */
    public static List<String> writeGood(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> names = new ArrayList<>();
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("gray.png", encode(".png", pattern(CV_8UC1)));
        files.put("rgba.png", encode(".png", pattern(CV_8UC4)));
        files.put("rgb16.png", encode(".png", pattern(CV_16UC3)));
        files.put("lossy.webp", encode(".webp", pattern(CV_8UC3), opencv_imgcodecs.IMWRITE_WEBP_QUALITY, 90));
        files.put("lossless.webp", encode(".webp", pattern(CV_8UC3), opencv_imgcodecs.IMWRITE_WEBP_QUALITY, 101));
        files.put("image.tiff", encode(".tiff", pattern(CV_8UC3)));
        files.put("image.bmp", encode(".bmp", pattern(CV_8UC3)));
        files.put("top_down.bmp", topDownBmp());
        files.put("image.ppm", encode(".ppm", pattern(CV_8UC3)));
        files.put("gray.pgm", encode(".pgm", pattern(CV_8UC1)));
        files.put("progressive.jpg", encode(".jpg", pattern(CV_8UC3), opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1));
        files.put("trailing_data.jpg", withTrailingData(encode(".jpg", pattern(CV_8UC3)), 100_000));
        files.put(EXIF_ROTATED, withExifOrientation(encode(".jpg", pattern(CV_8UC3)), 6));
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Files.write(dir.resolve(e.getKey()), e.getValue());
            names.add(e.getKey());
        }
        return names;
    }

    /**
     * Writes {@value #OVERSIZED}: a valid JPEG padded after its end marker to {@code maxBytes + 1} bytes,
     * which a decoder whose byte limit is {@code maxBytes} must reject as TOO_LARGE. Keep the limit
     * small in tests (a few KB).
     */
    public static String writeOversized(Path dir, long maxBytes) throws IOException {
        if (maxBytes < 0 || maxBytes > 64L * 1024 * 1024) {
            throw new IllegalArgumentException("use a small test limit, not " + maxBytes);
        }
        Files.createDirectories(dir);
        byte[] jpeg = encode(".jpg", pattern(CV_8UC3));
        try (OutputStream out = Files.newOutputStream(dir.resolve(OVERSIZED))) {
            out.write(jpeg);
            long padding = Math.max(0, maxBytes + 1 - jpeg.length);
            byte[] zeros = new byte[64 * 1024];
            while (padding > 0) {
                int n = (int) Math.min(zeros.length, padding);
                out.write(zeros, 0, n);
                padding -= n;
            }
        }
        return OVERSIZED;
    }

    // ------------------------------------------------------------------ images

    /**
     * The {@value #GOOD_WIDTH}x{@value #GOOD_HEIGHT} test pattern in the given type (CV_8UC1, CV_8UC3,
     * CV_8UC4 or CV_16UC3): marker in the top-left quadrant, background elsewhere; in CV_8UC4 the
     * background is half transparent. The caller closes it.
     */
    public static Mat pattern(int type) {
        Mat m = new Mat(GOOD_HEIGHT, GOOD_WIDTH, type);
        int channels = m.channels();
        boolean sixteen = type == CV_16UC3;
        int scale = sixteen ? 257 : 1;
        ByteBuffer buf = ByteBuffer.allocate(GOOD_WIDTH * GOOD_HEIGHT * channels * (sixteen ? 2 : 1))
                .order(ByteOrder.nativeOrder());
        for (int y = 0; y < GOOD_HEIGHT; y++) {
            for (int x = 0; x < GOOD_WIDTH; x++) {
                boolean marker = x < GOOD_WIDTH / 2 && y < GOOD_HEIGHT / 2;
                for (int c = 0; c < channels; c++) {
                    int v;
                    if (channels == 1) {
                        v = marker ? 255 : BACKGROUND;
                    } else if (c == 3) {
                        v = marker ? 255 : 128; // alpha
                    } else {
                        v = marker ? MARKER_BGR[c] : BACKGROUND;
                    }
                    if (sixteen) {
                        buf.putShort((short) (v * scale));
                    } else {
                        buf.put((byte) v);
                    }
                }
            }
        }
        m.data().put(buf.array());
        return m;
    }

    /** A 320x240 JPEG of seeded noise (about 150 KB at quality 90), so cutting it leaves scan data. */
    public static byte[] noisyJpeg() {
        return encode(".jpg", noise(320, 240), opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 90);
    }

    /** Encodes with OpenCV's imencode (ext like ".png") and closes {@code image}. */
    public static byte[] encode(String ext, Mat image, int... params) {
        try (Mat m = image; BytePointer out = new BytePointer(); IntPointer p = new IntPointer(params)) {
            boolean ok = opencv_imgcodecs.imencode(ext, m, out, p);
            if (!ok) {
                throw new IllegalStateException("OpenCV could not encode " + ext);
            }
            byte[] bytes = new byte[(int) out.limit()];
            out.get(bytes);
            return bytes;
        }
    }

    private static Mat noise(int width, int height) {
        Mat m = new Mat(height, width, CV_8UC3);
        byte[] bytes = randomBytes(width * height * 3, SEED + 2);
        m.data().put(bytes);
        return m;
    }

    // ------------------------------------------------------------------ JPEG surgery

    /** Returns a copy of {@code jpeg} whose first SOFn segment declares {@code width}x{@code height}. */
    public static byte[] withJpegFrameSize(byte[] jpeg, int width, int height) {
        byte[] out = jpeg.clone();
        int sof = findJpegSegment(out, true);
        out[sof + 5] = (byte) (height >> 8);
        out[sof + 6] = (byte) height;
        out[sof + 7] = (byte) (width >> 8);
        out[sof + 8] = (byte) width;
        return out;
    }

    /**
     * Inserts, right after SOI, an APP1 Exif segment whose IFD0 holds one Orientation tag (0x0112,
     * SHORT) with the given value, in big-endian TIFF layout.
     */
    public static byte[] withExifOrientation(byte[] jpeg, int orientation) {
        ByteBuffer exif = ByteBuffer.allocate(36).order(ByteOrder.BIG_ENDIAN);
        exif.put((byte) 0xFF).put((byte) 0xE1).putShort((short) 34);   // APP1, length = 34
        exif.put(ascii("Exif")).put((byte) 0).put((byte) 0);          // "Exif\0\0"
        exif.put(ascii("MM")).putShort((short) 42).putInt(8);          // TIFF header, IFD0 at 8
        exif.putShort((short) 1);                                      // one entry
        exif.putShort((short) 0x0112).putShort((short) 3).putInt(1);   // Orientation, SHORT, count 1
        exif.putShort((short) orientation).putShort((short) 0);        // value, padding
        exif.putInt(0);                                                // no next IFD
        return insert(jpeg, 2, exif.array());
    }

    /** Appends {@code n} seeded bytes that contain no FFD9 pair (like the video in a "motion photo"). */
    public static byte[] withTrailingData(byte[] image, int n) {
        byte[] tail = randomBytes(n, SEED + 3);
        for (int i = 0; i < tail.length; i++) {
            if (tail[i] == (byte) 0xFF) {
                tail[i] = (byte) 0xFE;
            }
        }
        return concat(image, tail);
    }

    /**
     * Repeats the last scan of a progressive JPEG (from its SOS marker to just before EOI) so that the
     * file holds {@code extra} more scans: a CPU bomb that libjpeg decodes, slowly, with warnings.
     */
    public static byte[] withRepeatedLastScan(byte[] progressiveJpeg, int extra) {
        byte[] j = progressiveJpeg;
        int end = j.length - 2;
        if ((j[end] & 0xFF) != 0xFF || (j[end + 1] & 0xFF) != 0xD9) {
            throw new IllegalArgumentException("the JPEG does not end with EOI");
        }
        int lastSos = end - 1;
        while (lastSos > 2 && !((j[lastSos] & 0xFF) == 0xFF && (j[lastSos + 1] & 0xFF) == 0xDA)) {
            lastSos--;
        }
        byte[] scan = Arrays.copyOfRange(j, lastSos, end);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(j, 0, end);
        for (int i = 0; i < extra; i++) {
            out.writeBytes(scan);
        }
        out.write(0xFF);
        out.write(0xD9);
        return out.toByteArray();
    }

    /** SOI, a JFIF APP0 segment, EOI: no frame header at all. */
    private static byte[] jpegWithoutFrame() {
        byte[] app0 = {(byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
        return concat(new byte[] {(byte) 0xFF, (byte) 0xD8}, app0, new byte[] {(byte) 0xFF, (byte) 0xD9});
    }

    /** Offset of the first SOFn marker (frame = true) or SOS marker (frame = false). */
    static int findJpegSegment(byte[] jpeg, boolean frame) {
        int pos = 2;
        while (pos + 4 <= jpeg.length) {
            if ((jpeg[pos] & 0xFF) != 0xFF) {
                throw new IllegalArgumentException("not at a JPEG marker at offset " + pos);
            }
            int marker = jpeg[pos + 1] & 0xFF;
            boolean isSof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if ((frame && isSof) || (!frame && marker == 0xDA)) {
                return pos;
            }
            pos += 2 + (((jpeg[pos + 2] & 0xFF) << 8) | (jpeg[pos + 3] & 0xFF));
        }
        throw new IllegalArgumentException("no " + (frame ? "SOF" : "SOS") + " marker");
    }

    // ------------------------------------------------------------------ PNG by hand

    /** A PNG whose IHDR declares width x height (8-bit grey) with one tiny IDAT: a decompression bomb. */
    public static byte[] pngBomb(int width, int height) {
        return handmadePng(width, height, zlib(new byte[1 + width])); // one filtered row of zeros
    }

    /** Signature, IHDR (8-bit greyscale), one IDAT with {@code idat}, IEND; CRCs correct. */
    public static byte[] handmadePng(int width, int height, byte[] idat) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).order(ByteOrder.BIG_ENDIAN);
        ihdr.putInt(width).putInt(height).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        return concat(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
                pngChunk("IHDR", ihdr.array()), pngChunk("IDAT", idat), pngChunk("IEND", new byte[0]));
    }

    public static byte[] pngChunk(String type, byte[] data) {
        ByteBuffer chunk = ByteBuffer.allocate(12 + data.length).order(ByteOrder.BIG_ENDIAN);
        chunk.putInt(data.length).put(ascii(type)).put(data);
        CRC32 crc = new CRC32();
        crc.update(chunk.array(), 4, 4 + data.length);
        chunk.putInt((int) crc.getValue());
        return chunk.array();
    }

    public static byte[] zlib(byte[] raw) {
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
        try {
            deflater.setInput(raw);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (!deflater.finished()) {
                out.write(buf, 0, deflater.deflate(buf));
            }
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }

    // ------------------------------------------------------------------ BMP, WebP, GIF, HEIC by hand

    /** A 54-byte BITMAPINFOHEADER (24-bit) declaring width x height, followed by only 16 pixel bytes. */
    public static byte[] bmpHeaderOnly(int width, int height) {
        return bmp(width, height, new byte[16]);
    }

    /** The good pattern as a 24-bit top-down BMP (negative height), written by hand. */
    private static byte[] topDownBmp() {
        int stride = (GOOD_WIDTH * 3 + 3) & ~3;
        byte[] pixels = new byte[stride * GOOD_HEIGHT];
        for (int y = 0; y < GOOD_HEIGHT; y++) { // row 0 is the top row
            for (int x = 0; x < GOOD_WIDTH; x++) {
                boolean marker = x < GOOD_WIDTH / 2 && y < GOOD_HEIGHT / 2;
                for (int c = 0; c < 3; c++) {
                    pixels[y * stride + x * 3 + c] = (byte) (marker ? MARKER_BGR[c] : BACKGROUND);
                }
            }
        }
        return bmp(GOOD_WIDTH, -GOOD_HEIGHT, pixels);
    }

    private static byte[] bmp(int width, int height, byte[] pixels) {
        ByteBuffer b = ByteBuffer.allocate(54 + pixels.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'B').put((byte) 'M').putInt(54 + pixels.length).putInt(0).putInt(54);
        b.putInt(40).putInt(width).putInt(height).putShort((short) 1).putShort((short) 24);
        b.putInt(0).putInt(pixels.length).putInt(2835).putInt(2835).putInt(0).putInt(0);
        b.put(pixels);
        return b.array();
    }

    /** RIFF/WEBP with only a VP8X chunk declaring a canvas of width x height. */
    public static byte[] webpCanvasOnly(int width, int height) {
        ByteBuffer b = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
        b.put(ascii("RIFF")).putInt(22).put(ascii("WEBP")).put(ascii("VP8X")).putInt(10);
        b.putInt(0); // flags + reserved
        putU24(b, width - 1);
        putU24(b, height - 1);
        return b.array();
    }

    private static void putU24(ByteBuffer b, int v) {
        b.put((byte) v).put((byte) (v >> 8)).put((byte) (v >> 16));
    }

    /**
     * A valid two-frame animated GIF89a of width x height with a 4-colour palette. The LZW stream
     * sends a clear code after every two pixels, so the code size stays at 3 bits.
     */
    public static byte[] animatedGif(int width, int height) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ascii("GIF89a"));
        writeU16le(out, width);
        writeU16le(out, height);
        out.write(0x91); // global colour table, 4 entries
        out.write(0);
        out.write(0);
        out.writeBytes(new byte[] {0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255});
        out.write(0x21);
        out.write(0xFF);
        out.write(11);
        out.writeBytes(ascii("NETSCAPE2.0"));
        out.writeBytes(new byte[] {3, 1, 0, 0, 0});
        for (int frame = 0; frame < 2; frame++) {
            out.writeBytes(new byte[] {0x21, (byte) 0xF9, 4, 0, 10, 0, 0, 0}); // 0.1 s delay
            out.write(0x2C);
            writeU16le(out, 0);
            writeU16le(out, 0);
            writeU16le(out, width);
            writeU16le(out, height);
            out.write(0);
            out.write(2); // LZW minimum code size
            byte[] lzw = lzwTwoPixelsPerClear(width * height, frame);
            for (int i = 0; i < lzw.length; i += 255) {
                int n = Math.min(255, lzw.length - i);
                out.write(n);
                out.write(lzw, i, n);
            }
            out.write(0);
        }
        out.write(0x3B);
        return out.toByteArray();
    }

    private static byte[] lzwTwoPixelsPerClear(int pixels, int frame) {
        final int clear = 4;
        final int end = 5;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int bits = 0;
        int nbits = 0;
        List<Integer> codes = new ArrayList<>();
        for (int i = 0; i < pixels; i++) {
            if (i % 2 == 0) {
                codes.add(clear);
            }
            codes.add(1 + (i + frame) % 3);
        }
        codes.add(end);
        for (int code : codes) {
            bits |= code << nbits;
            nbits += 3;
            while (nbits >= 8) {
                out.write(bits & 0xFF);
                bits >>>= 8;
                nbits -= 8;
            }
        }
        if (nbits > 0) {
            out.write(bits & 0xFF);
        }
        return out.toByteArray();
    }

    /** The first bytes of an iPhone HEIC file (an ISO-BMFF ftyp box), then zeros. */
    private static byte[] heicLike() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.BIG_ENDIAN);
        b.putInt(24).put(ascii("ftyp")).put(ascii("heic")).putInt(0).put(ascii("mif1")).put(ascii("heic"));
        return b.array();
    }

    // ------------------------------------------------------------------ helpers

    private static void write(Path dir, Map<String, ErrorCode> expected, String name, ErrorCode code, byte[] bytes) {
        try {
            Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        expected.put(name, code);
    }

    public static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] insert(byte[] data, int at, byte[] inserted) {
        return concat(Arrays.copyOfRange(data, 0, at), inserted, Arrays.copyOfRange(data, at, data.length));
    }

    private static void writeU16le(ByteArrayOutputStream out, int v) {
        out.write(v & 0xFF);
        out.write((v >> 8) & 0xFF);
    }
}
