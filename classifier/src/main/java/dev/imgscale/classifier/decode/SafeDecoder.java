package dev.imgscale.classifier.decode;

import static org.bytedeco.opencv.global.opencv_core.CV_16S;
import static org.bytedeco.opencv.global.opencv_core.CV_16U;
import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_64F;
import static org.bytedeco.opencv.global.opencv_core.CV_8S;
import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import dev.imgscale.classifier.ThreadSafe;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decodes untrusted image bytes into an 8-bit, 3-channel BGR {@link Mat}, refusing anything that
 * would hurt the process before OpenCV sees it.
 *
 * <p>A bare {@code imdecode} decodes a 600 KB PNG that declares 25000x25000 pixels into a 1.9 GB
 * Mat, and a JPEG cut in half into a picture that is half grey, without an error. So the checks run
 * in this order, cheapest first, and the first that fails decides the {@link ErrorCode}:
 * <ol>
 *   <li>no bytes: {@link ErrorCode#EMPTY};</li>
 *   <li>more bytes than {@link DecodeLimits#maxBytes()}: {@link ErrorCode#TOO_LARGE} (for a
 *       {@link Path} this is decided from the file size, before reading);</li>
 *   <li>the header, read by {@link ImageHeaders#read(byte[])}: unknown format
 *       {@link ErrorCode#UNSUPPORTED}; malformed or truncated (a JPEG without its end marker or with more
 *       than {@link ImageHeaders#MAX_JPEG_SCANS} scans, a PNG without IEND) {@link ErrorCode#CORRUPT};</li>
 *   <li>GIF: {@link ErrorCode#UNSUPPORTED} (OpenCV 4.11 as shipped by bytedeco returns nothing for it);</li>
 *   <li>declared width x height over {@link DecodeLimits#maxPixels()}: {@link ErrorCode#TOO_MANY_PIXELS};</li>
 *   <li>declared width or height 0: {@link ErrorCode#CORRUPT};</li>
 *   <li>{@code imdecode(IMREAD_COLOR)}; nothing decoded, or an OpenCV exception: {@link ErrorCode#CORRUPT}.</li>
 * </ol>
 * {@code IMREAD_COLOR} applies a JPEG's EXIF orientation and converts grey, alpha, 16-bit and CMYK
 * images to 8-bit BGR; so do the {@code IMREAD_REDUCED_COLOR_*} flags of a scaled JPEG decode
 * ({@link #decode(byte[], int)}), which OpenCV 4.11 treats the same way apart from the scale.
 *
 * <p>Stateless apart from its immutable limits: one instance may be shared by any number of threads
 * (OpenCV's imdecode creates a decoder per call). The caller owns, and must close, every returned Mat;
 * if a call happens inside a JavaCPP {@code PointerScope}, the Mat is attached to that scope.
 */
@ThreadSafe
public final class SafeDecoder {

    private static final double MEGA = 1_000_000.0;
    private static final double MIB = 1024.0 * 1024.0;

    private final DecodeLimits limits;

    /** A decoder with {@link DecodeLimits#DEFAULT}. */
    public SafeDecoder() {
        this(DecodeLimits.DEFAULT);
    }

    public SafeDecoder(DecodeLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    public DecodeLimits limits() {
        return limits;
    }

    /**
     * Runs every check that does not decode (size, header, format, declared pixels) and returns the
     * header. {@link #decode(byte[])} runs exactly these checks first.
     */
    public ImageHeader check(byte[] data) throws ImageRejectedException {
        Objects.requireNonNull(data, "data");
        if (data.length == 0) {
            throw new ImageRejectedException(ErrorCode.EMPTY, "the file is empty (0 bytes)");
        }
        if (data.length > limits.maxBytes()) {
            throw tooLarge(data.length);
        }
        ImageHeader header = ImageHeaders.read(data);
        if (header.format() == ImageFormat.GIF) {
            throw new ImageRejectedException(ErrorCode.UNSUPPORTED,
                    "the file is a GIF, which OpenCV cannot decode here; convert it to PNG or JPEG");
        }
        if (header.pixels() > limits.maxPixels()) {
            String message = limits.maxPixels() >= 100_000
                    ? String.format(Locale.ROOT, "the %s declares %dx%d pixels (%.1f MP), over the %.1f MP limit",
                            name(header.format()), header.width(), header.height(),
                            header.pixels() / MEGA, limits.maxPixels() / MEGA)
                    : String.format(Locale.ROOT, "the %s declares %dx%d pixels (%d), over the limit of %d pixels",
                            name(header.format()), header.width(), header.height(),
                            header.pixels(), limits.maxPixels());
            throw new ImageRejectedException(ErrorCode.TOO_MANY_PIXELS, message);
        }
        if (header.width() == 0 || header.height() == 0) {
            throw new ImageRejectedException(ErrorCode.CORRUPT, String.format(Locale.ROOT,
                    "the %s declares an empty size of %dx%d pixels", name(header.format()),
                    header.width(), header.height()));
        }
        return header;
    }

    /**
     * Decodes an image held in memory.
     *
     * @return a new, non-empty CV_8UC3 BGR Mat, upright per EXIF orientation; the caller closes it
     * @throws ImageRejectedException with the reason the image cannot be used
     */
    public Mat decode(byte[] data) throws ImageRejectedException {
        return decode(data, 0);
    }

    /**
     * Decodes an image held in memory at the smallest scale the caller can use: a JPEG is decoded at
     * the smallest of 1/2, 1/4 and 1/8 of its size (libjpeg's scaled IDCT) whose shorter side stays at
     * least {@code minShorterSide} ({@link #scaleDenominator}), or at full size if none does; any
     * other image, or {@code minShorterSide <= 0}, at full size. A 12 MP JPEG decodes at 1/8 several
     * times faster than at full size, and at 1/8 each pixel is its 8x8 block's mean, an area
     * filter like the INTER_AREA resize that follows. The checks of {@link #check} still run first,
     * on the declared full size; the EXIF orientation is applied as by {@link #decode(byte[])}.
     *
     * @return a new, non-empty CV_8UC3 BGR Mat, upright per EXIF orientation; the caller closes it
     * @throws ImageRejectedException with the reason the image cannot be used
     */
    public Mat decode(byte[] data, int minShorterSide) throws ImageRejectedException {
        return decodeScaled(data, minShorterSide).image();
    }

    /** An image decoded at 1/{@code denominator} of its declared size (1: full size); closing it closes the Mat. */
    public record Scaled(Mat image, int denominator) implements AutoCloseable {
        @Override
        public void close() {
            image.close();
        }
    }

    /** As {@link #decode(byte[], int)}, also saying at which scale the image was decoded. */
    public Scaled decodeScaled(byte[] data, int minShorterSide) throws ImageRejectedException {
        ImageHeader header = check(data);
        int denominator = scaleDenominator(header, minShorterSide);
        Mat decoded;
        try (Mat buffer = new Mat(1, data.length, CV_8UC1)) { // new Mat(byte[]) NPEs on empty arrays
            buffer.data().put(data);
            decoded = opencv_imgcodecs.imdecode(buffer, readFlag(denominator));
        } catch (RuntimeException e) {
            throw new ImageRejectedException(ErrorCode.CORRUPT, "OpenCV failed to decode the "
                    + name(header.format()) + ": " + firstLine(e.getMessage()), e);
        }
        if (decoded == null || decoded.isNull() || decoded.empty()) {
            if (decoded != null) {
                decoded.close();
            }
            throw new ImageRejectedException(ErrorCode.CORRUPT, String.format(Locale.ROOT,
                    "OpenCV could not decode the %s (declared %dx%d): its data is malformed or truncated",
                    name(header.format()), header.width(), header.height()));
        }
        return new Scaled(toBgr8(decoded), denominator);
    }

    /**
     * The scale, as 1/N with N in 1, 2, 4, 8, at which {@link #decode(byte[], int)} decodes an image
     * of this header so that its shorter side stays at least {@code minShorterSide}. Only JPEG
     * decodes at a reduced scale natively: for other formats OpenCV would decode at full size and
     * then resize, gaining nothing, so they stay at 1. libjpeg rounds a scaled size up, as here.
     */
    public static int scaleDenominator(ImageHeader header, int minShorterSide) {
        if (header.format() != ImageFormat.JPEG || minShorterSide <= 0) {
            return 1;
        }
        long shorter = Math.min(header.width(), header.height());
        for (int n = 8; n > 1; n /= 2) {
            if ((shorter + n - 1) / n >= minShorterSide) {
                return n;
            }
        }
        return 1;
    }

    private static int readFlag(int denominator) {
        return switch (denominator) {
            case 2 -> opencv_imgcodecs.IMREAD_REDUCED_COLOR_2;
            case 4 -> opencv_imgcodecs.IMREAD_REDUCED_COLOR_4;
            case 8 -> opencv_imgcodecs.IMREAD_REDUCED_COLOR_8;
            default -> opencv_imgcodecs.IMREAD_COLOR;
        };
    }

    /**
     * Reads and decodes a file. Its size is checked before reading, so an oversized file is never
     * loaded; the read itself is also capped, in case the file grows or is not a regular file.
     *
     * @throws ImageRejectedException {@link ErrorCode#UNREADABLE} when the file cannot be read, else
     *     as {@link #decode(byte[])}
     */
    public Mat decode(Path file) throws ImageRejectedException {
        return decode(read(file));
    }

    /** Reads a file and decodes it as {@link #decode(byte[], int)}. */
    public Mat decode(Path file, int minShorterSide) throws ImageRejectedException {
        return decode(read(file), minShorterSide);
    }

    /** Reads a file's bytes, enforcing the byte limit before and during the read. */
    public byte[] read(Path file) throws ImageRejectedException {
        Objects.requireNonNull(file, "file");
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException e) {
            throw unreadable(e);
        }
        if (attributes.isDirectory()) {
            throw new ImageRejectedException(ErrorCode.UNREADABLE, "the path is a directory, not a file");
        }
        if (attributes.isRegularFile()) {
            if (attributes.size() == 0) {
                throw new ImageRejectedException(ErrorCode.EMPTY, "the file is empty (0 bytes)");
            }
            if (attributes.size() > limits.maxBytes()) {
                throw tooLarge(attributes.size());
            }
        }
        int cap = limits.maxBytes() >= Integer.MAX_VALUE - 16 ? Integer.MAX_VALUE - 16 : (int) limits.maxBytes() + 1;
        byte[] data;
        try (InputStream in = Files.newInputStream(file)) {
            data = in.readNBytes(cap);
        } catch (IOException e) {
            throw unreadable(e);
        }
        if (data.length > limits.maxBytes()) {
            throw new ImageRejectedException(ErrorCode.TOO_LARGE, String.format(Locale.ROOT,
                    "the file holds more than the %s limit (it grew while being read, or is not a regular file)",
                    bytes(limits.maxBytes())));
        }
        return data;
    }

    /**
     * Returns {@code image} as CV_8UC3, converting (and closing the original) when OpenCV returned
     * another type. IMREAD_COLOR should always give CV_8UC3; this is the safety net.
     */
    static Mat toBgr8(Mat image) throws ImageRejectedException {
        if (image.type() == CV_8UC3) {
            return image;
        }
        try (Mat original = image) {
            int channels = original.channels();
            if (channels != 1 && channels != 3 && channels != 4) {
                throw new ImageRejectedException(ErrorCode.CORRUPT,
                        "OpenCV decoded the image with " + channels + " channels, which cannot be converted to BGR");
            }
            Mat eightBit = new Mat();
            try {
                int depth = original.depth();
                if (depth == CV_8U) {
                    original.copyTo(eightBit);
                } else {
                    double scale = switch (depth) {
                        case CV_16U -> 1.0 / 257.0;
                        case CV_8S, CV_16S -> 1.0 / 128.0; // rarely seen; signed data lands in [0, 255] clipped
                        case CV_32F, CV_64F -> 255.0;      // float images are in [0, 1]
                        default -> 1.0 / 65793.0;          // CV_32S
                    };
                    original.convertTo(eightBit, CV_8U, scale, 0);
                }
                if (channels == 3) {
                    return eightBit;
                }
                Mat bgr = new Mat();
                try (Mat source = eightBit) {
                    opencv_imgproc.cvtColor(source, bgr,
                            channels == 1 ? opencv_imgproc.COLOR_GRAY2BGR : opencv_imgproc.COLOR_BGRA2BGR);
                } catch (RuntimeException e) {
                    bgr.close();
                    throw e;
                }
                return bgr;
            } catch (RuntimeException e) {
                eightBit.close();
                throw new ImageRejectedException(ErrorCode.CORRUPT,
                        "OpenCV could not convert the decoded image to 8-bit BGR: " + firstLine(e.getMessage()), e);
            }
        }
    }

    private ImageRejectedException tooLarge(long size) {
        return new ImageRejectedException(ErrorCode.TOO_LARGE,
                "the file is " + bytes(size) + ", over the limit of " + bytes(limits.maxBytes()));
    }

    private static ImageRejectedException unreadable(IOException e) {
        String why;
        if (e instanceof NoSuchFileException) {
            why = "the file does not exist";
        } else if (e instanceof AccessDeniedException) {
            why = "permission to read the file was denied";
        } else {
            why = "the file could not be read: " + e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        return new ImageRejectedException(ErrorCode.UNREADABLE, why, e);
    }

    private static String bytes(long n) {
        if (n < 1024 * 1024) {
            return n + (n == 1 ? " byte" : " bytes");
        }
        if (n < 1024L * 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB", n / MIB);
        }
        return String.format(Locale.ROOT, "%.1f GiB", n / (MIB * 1024));
    }

    private static String name(ImageFormat format) {
        return format == ImageFormat.WEBP ? "WebP" : format.name();
    }

    private static String firstLine(String message) {
        if (message == null || message.isBlank()) {
            return "no detail given";
        }
        String line = message.strip().lines().findFirst().orElse("");
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }
}
