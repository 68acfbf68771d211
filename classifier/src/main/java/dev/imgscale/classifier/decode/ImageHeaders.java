package dev.imgscale.classifier.decode;

import java.util.Locale;
import java.util.Objects;

/**
 * Reads an image's format and declared size from its header, without decoding a pixel, so that a
 * decompression bomb (a small file that declares a huge image) is refused before any decoder
 * allocates memory for it.
 *
 * <p>The format comes from the magic bytes, never from the file name, and the sniffing is at least
 * as strict as OpenCV's, so the header read here is the one OpenCV's decoder will act on. Besides the
 * size, cheap structural checks run here: a JPEG must have an end-of-image marker (FFD9) after its
 * first scan and at most {@link #MAX_JPEG_SCANS} scans, and a PNG's chunk chain must reach an IEND
 * chunk. OpenCV would also fail on a truncated file, but only after allocating and decoding, and
 * without saying why.
 *
 * <p>Every malformed or truncated header ends in {@link ImageRejectedException} with
 * {@link ErrorCode#CORRUPT}; an unrecognised format ends in {@link ErrorCode#UNSUPPORTED}. No input
 * makes this class throw an unchecked exception. Stateless and thread-safe.
 */
public final class ImageHeaders {

    /**
     * Most scans accepted in one JPEG. libjpeg's default progressive script has 10 and optimising
     * encoders a few dozen; each scan costs a pass over the whole image.
     */
    public static final int MAX_JPEG_SCANS = 500;

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private ImageHeaders() {
    }

    /**
     * The format that the magic bytes at the start of {@code data} announce, or {@link ImageFormat#UNKNOWN}.
     * Only the first few bytes are looked at; nothing is validated.
     */
    public static ImageFormat sniff(byte[] data) {
        Objects.requireNonNull(data, "data");
        if (startsWith(data, 0, 0xFF, 0xD8, 0xFF)) {
            return ImageFormat.JPEG;
        }
        if (startsWith(data, 0, PNG_SIGNATURE)) {
            return ImageFormat.PNG;
        }
        if (startsWith(data, 0, 'B', 'M')) {
            return ImageFormat.BMP;
        }
        if (startsWith(data, 0, 'G', 'I', 'F', '8', '7', 'a') || startsWith(data, 0, 'G', 'I', 'F', '8', '9', 'a')) {
            return ImageFormat.GIF;
        }
        if (startsWith(data, 0, 'R', 'I', 'F', 'F') && startsWith(data, 8, 'W', 'E', 'B', 'P')) {
            return ImageFormat.WEBP;
        }
        if (startsWith(data, 0, 'I', 'I', 0x2A, 0x00) || startsWith(data, 0, 'M', 'M', 0x00, 0x2A)
                || startsWith(data, 0, 'I', 'I', 0x2B, 0x00) || startsWith(data, 0, 'M', 'M', 0x00, 0x2B)) {
            return ImageFormat.TIFF;
        }
        // OpenCV's PxM decoder wants 'P', a digit 1-6 and whitespace; its PAM decoder 'P7' and whitespace.
        if (data.length >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7' && isSpace(data[2] & 0xFF)) {
            return ImageFormat.PNM;
        }
        return ImageFormat.UNKNOWN;
    }

    /**
     * Reads the format and the declared width and height.
     *
     * @throws ImageRejectedException {@link ErrorCode#EMPTY} for no bytes, {@link ErrorCode#UNSUPPORTED}
     *     for an unrecognised format, {@link ErrorCode#CORRUPT} for a malformed or truncated header
     *     (and for a JPEG without EOI or a PNG without IEND)
     */
    public static ImageHeader read(byte[] data) throws ImageRejectedException {
        Objects.requireNonNull(data, "data");
        if (data.length == 0) {
            throw new ImageRejectedException(ErrorCode.EMPTY, "the file is empty (0 bytes)");
        }
        ImageFormat format = sniff(data);
        HeaderBytes b = new HeaderBytes(data, format);
        try {
            return switch (format) {
                case JPEG -> jpeg(b);
                case PNG -> png(b);
                case BMP -> bmp(b);
                case GIF -> gif(b);
                case WEBP -> webp(b);
                case TIFF -> tiff(b);
                case PNM -> PnmHeaders.read(b);
                case UNKNOWN -> throw new ImageRejectedException(ErrorCode.UNSUPPORTED, UnknownFormat.describe(data));
            };
        } catch (RuntimeException e) {
            // Every read is bounds-checked, so this is a parser bug; still, the contract is "never unchecked".
            throw new ImageRejectedException(ErrorCode.CORRUPT,
                    "the " + format + " header could not be parsed (" + e + ")", e);
        }
    }

    // ---------------------------------------------------------------- JPEG

    private static ImageHeader jpeg(HeaderBytes b) throws ImageRejectedException {
        int pos = 2; // after SOI
        ImageHeader header = null;
        while (true) {
            // Like libjpeg's next_marker(): skip stray bytes up to an 0xFF, then any 0xFF fill bytes.
            while (pos < b.length() && b.u8(pos) != 0xFF) {
                pos++;
            }
            while (pos < b.length() && b.u8(pos) == 0xFF) {
                pos++;
            }
            if (pos >= b.length()) {
                throw b.corrupt(header == null
                        ? "the JPEG ends before its frame header (no SOF marker): the file is truncated"
                        : "the JPEG ends before its first scan: the file is truncated");
            }
            int marker = b.u8(pos);
            int markerAt = pos - 1;
            pos++;
            if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                continue; // stuffed zero, TEM, RSTn: no length field
            }
            if (marker == 0xD8) {
                throw b.corrupt("the JPEG has a second start-of-image marker at offset " + markerAt);
            }
            if (marker == 0xD9) {
                throw b.corrupt("the JPEG ends (EOI marker at offset " + markerAt + ") before "
                        + (header == null ? "its frame header" : "its first scan"));
            }
            int length = b.u16be(pos);
            if (length < 2) {
                throw b.corrupt(String.format(Locale.ROOT,
                        "the JPEG marker FF%02X at offset %d has an impossible length %d", marker, markerAt, length));
            }
            int segmentEnd = pos + length;
            if (segmentEnd > b.length()) {
                throw b.corrupt(String.format(Locale.ROOT,
                        "the JPEG is truncated inside the FF%02X segment at offset %d", marker, markerAt));
            }
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof && header == null) {
                if (length < 8) {
                    throw b.corrupt("the JPEG frame header at offset " + markerAt + " is too short ("
                            + length + " bytes)");
                }
                int height = b.u16be(pos + 3);
                int width = b.u16be(pos + 5);
                header = new ImageHeader(ImageFormat.JPEG, width, height);
            } else if (marker == 0xDA) { // SOS
                if (header == null) {
                    throw b.corrupt("the JPEG starts a scan at offset " + markerAt + " before any frame header");
                }
                checkJpegScans(b, segmentEnd);
                return header;
            }
            pos = segmentEnd;
        }
    }

    /**
     * Walks the JPEG after its first scan header up to the end-of-image marker, counting scans.
     *
     * <p>Inside entropy-coded data an 0xFF is always followed by 0x00 or a restart marker, so a marker
     * found there is real. A file without FFD9 is truncated: OpenCV 4.11 returns nothing for it even
     * when only the final two bytes are missing, so this check just fails sooner and says why. Anything
     * after FFD9 is ignored, of any length, as decoders do (phones append whole videos to "motion
     * photos").
     *
     * <p>A progressive JPEG may repeat scans, and libjpeg processes every block of the image for each
     * one: measured with OpenCV 4.11, a 1.2 MB file of 100,000 tiny scans over a 2000x2000 image takes
     * 12 s to decode, and a 7000x7000 one costs 1.4 ms per scan, so a 20 MB file could hold a worker for
     * many minutes. Real encoders write at most a few dozen scans, so more than {@link #MAX_JPEG_SCANS}
     * is treated as corrupt (libjpeg-turbo's djpeg has -maxscans for the same reason).
     */
    private static void checkJpegScans(HeaderBytes b, int afterFirstScanHeader) throws ImageRejectedException {
        byte[] d = b.data;
        int n = d.length;
        int scans = 1;
        int pos = afterFirstScanHeader;
        while (true) {
            while (pos < n && d[pos] != (byte) 0xFF) {
                pos++;
            }
            if (pos + 1 >= n) {
                throw b.corrupt("the JPEG is truncated: there is no end-of-image marker (FFD9) after its image data");
            }
            int marker = d[pos + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte: the marker code follows
                pos++;
                continue;
            }
            if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                pos += 2; // stuffed 0xFF in the data, TEM, restart marker
                continue;
            }
            if (marker == 0xD9) {
                return;
            }
            if (marker == 0xDA) {
                scans++;
                if (scans > MAX_JPEG_SCANS) {
                    throw b.corrupt("the JPEG has more than " + MAX_JPEG_SCANS + " scans, which no real encoder"
                            + " writes and which would take minutes to decode");
                }
            }
            boolean segment = marker == 0xDA || marker == 0xC4 || marker == 0xCC || marker == 0xDB
                    || marker == 0xDC || marker == 0xDD || (marker >= 0xE0 && marker <= 0xEF) || marker == 0xFE;
            if (!segment) {
                pos += 2; // not a marker libjpeg expects here; it decides what to do with it
                continue;
            }
            int length = b.u16be(pos + 2);
            if (length < 2 || pos + 2 + length > n) {
                throw b.corrupt(String.format(Locale.ROOT,
                        "the JPEG is truncated or malformed in the FF%02X segment at offset %d", marker, pos));
            }
            pos += 2 + length;
        }
    }

    // ---------------------------------------------------------------- PNG

    private static ImageHeader png(HeaderBytes b) throws ImageRejectedException {
        if (b.u32be(8) != 13 || !b.matches(12, "IHDR")) {
            throw b.corrupt("the PNG does not start with a 13-byte IHDR chunk");
        }
        long width = b.u32be(16);
        long height = b.u32be(20);
        if (width > Integer.MAX_VALUE || height > Integer.MAX_VALUE) {
            throw b.corrupt("the PNG declares an impossible size " + width + "x" + height);
        }
        // Walk the chunk chain to IEND: length(4) type(4) data(length) crc(4).
        long pos = 8;
        while (true) {
            if (pos + 8 > b.length()) {
                throw b.corrupt("the PNG is truncated: its chunks end at offset " + pos + " without an IEND chunk");
            }
            long length = b.u32be((int) pos);
            String type = b.ascii((int) pos + 4, 4);
            if (length > Integer.MAX_VALUE) {
                throw b.corrupt("the PNG chunk '" + printable(type) + "' at offset " + pos
                        + " has an impossible length " + length);
            }
            long next = pos + 12 + length;
            if (next > b.length()) {
                throw b.corrupt("the PNG is truncated: chunk '" + printable(type) + "' at offset " + pos + " needs "
                        + (12 + length) + " bytes but the file ends after " + (b.length() - pos));
            }
            if (type.equals("IEND")) {
                return new ImageHeader(ImageFormat.PNG, (int) width, (int) height);
            }
            pos = next;
        }
    }

    // ---------------------------------------------------------------- BMP

    private static ImageHeader bmp(HeaderBytes b) throws ImageRejectedException {
        long dibSize = b.u32le(14);
        long width;
        long height;
        if (dibSize == 12) { // BITMAPCOREHEADER (OS/2 1.x): unsigned 16-bit sizes
            width = b.u16le(18);
            height = b.u16le(20);
        } else if (dibSize >= 16 && dibSize <= 1024) { // OS/2 2.x, BITMAPINFOHEADER, V2-V5
            width = b.i32le(18);
            height = b.i32le(22);
            if (height == Integer.MIN_VALUE) {
                throw b.corrupt("the BMP declares an impossible height " + height);
            }
            height = Math.abs(height); // negative height: stored top-down
        } else {
            throw b.corrupt("the BMP has an unknown info-header size " + dibSize);
        }
        if (width < 0) {
            throw b.corrupt("the BMP declares a negative width " + width);
        }
        return new ImageHeader(ImageFormat.BMP, (int) width, (int) height);
    }

    // ---------------------------------------------------------------- GIF

    private static ImageHeader gif(HeaderBytes b) throws ImageRejectedException {
        return new ImageHeader(ImageFormat.GIF, b.u16le(6), b.u16le(8));
    }

    // ---------------------------------------------------------------- WebP

    private static ImageHeader webp(HeaderBytes b) throws ImageRejectedException {
        String chunk = b.ascii(12, 4);
        long chunkSize = b.u32le(16);
        int p = 20; // chunk payload
        switch (chunk) {
            case "VP8 " -> {
                if (chunkSize < 10) {
                    throw b.corrupt("the WebP VP8 chunk is too short (" + chunkSize + " bytes)");
                }
                if ((b.u8(p) & 1) != 0) {
                    throw b.corrupt("the WebP VP8 bitstream does not start with a key frame");
                }
                if (b.u8(p + 3) != 0x9D || b.u8(p + 4) != 0x01 || b.u8(p + 5) != 0x2A) {
                    throw b.corrupt("the WebP VP8 bitstream has no start code");
                }
                return new ImageHeader(ImageFormat.WEBP, b.u16le(p + 6) & 0x3FFF, b.u16le(p + 8) & 0x3FFF);
            }
            case "VP8L" -> {
                if (chunkSize < 5 || b.u8(p) != 0x2F) {
                    throw b.corrupt("the WebP VP8L chunk has no lossless signature");
                }
                long bits = b.u32le(p + 1);
                if ((bits >>> 29) != 0) {
                    throw b.corrupt("the WebP VP8L bitstream has an unknown version " + (bits >>> 29));
                }
                int width = (int) (bits & 0x3FFF) + 1;
                int height = (int) ((bits >>> 14) & 0x3FFF) + 1;
                return new ImageHeader(ImageFormat.WEBP, width, height);
            }
            case "VP8X" -> {
                if (chunkSize < 10) {
                    throw b.corrupt("the WebP VP8X chunk is too short (" + chunkSize + " bytes)");
                }
                int width = b.u24le(p + 4) + 1;
                int height = b.u24le(p + 7) + 1;
                return new ImageHeader(ImageFormat.WEBP, width, height);
            }
            default -> throw b.corrupt("the WebP file has an unknown first chunk '" + printable(chunk) + "'");
        }
    }

    // ---------------------------------------------------------------- TIFF

    private static ImageHeader tiff(HeaderBytes b) throws ImageRejectedException {
        b.littleEndian = b.u8(0) == 'I';
        boolean big = b.u16(2) == 43;
        long ifd;
        if (big) { // BigTIFF: bytesize 8, reserved 0, 8-byte IFD offset
            if (b.u16(4) != 8 || b.u16(6) != 0) {
                throw b.corrupt("the BigTIFF header is malformed");
            }
            ifd = b.u64(8);
        } else {
            ifd = b.u32(4);
        }
        if (ifd < (big ? 16 : 8) || ifd >= b.length()) {
            throw b.corrupt("the TIFF's first directory offset " + ifd + " lies outside the file ("
                    + b.length() + " bytes)");
        }
        int at = (int) ifd;
        long entries = big ? b.u64(at) : b.u16(at);
        int entrySize = big ? 20 : 12;
        int first = at + (big ? 8 : 2);
        if (entries == 0 || entries > (b.length() - first) / entrySize) {
            throw b.corrupt("the TIFF's first directory at offset " + at + " has " + entries
                    + " entries, which do not fit in the file");
        }
        long width = -1;
        long height = -1;
        for (int i = 0; i < entries; i++) {
            int e = first + i * entrySize;
            int tag = b.u16(e);
            if (tag == 256 || tag == 257) {
                long value = tiffValue(b, e, big);
                if (tag == 256) {
                    width = value;
                } else {
                    height = value;
                }
            }
        }
        if (width < 0 || height < 0) {
            throw b.corrupt("the TIFF's first directory has no " + (width < 0 ? "ImageWidth" : "ImageLength") + " tag");
        }
        if (width > Integer.MAX_VALUE || height > Integer.MAX_VALUE) {
            throw b.corrupt("the TIFF declares an impossible size " + width + "x" + height);
        }
        return new ImageHeader(ImageFormat.TIFF, (int) width, (int) height);
    }

    /** The first value of a SHORT, LONG or LONG8 directory entry, inline or at its offset. */
    private static long tiffValue(HeaderBytes b, int entry, boolean big) throws ImageRejectedException {
        int type = b.u16(entry + 2);
        long count = big ? b.u64(entry + 4) : b.u32(entry + 4);
        int size = switch (type) {
            case 3 -> 2;  // SHORT
            case 4 -> 4;  // LONG
            case 16 -> 8; // LONG8 (BigTIFF)
            default -> throw b.corrupt("the TIFF size tag " + b.u16(entry) + " has unexpected type " + type);
        };
        if (count < 1) {
            throw b.corrupt("the TIFF size tag " + b.u16(entry) + " has no value");
        }
        int inlineBytes = big ? 8 : 4;
        int valueField = entry + (big ? 12 : 8);
        int at = valueField;
        if (count > inlineBytes / size) { // stored elsewhere: the field holds an offset
            long offset = big ? b.u64(valueField) : b.u32(valueField);
            if (offset > Integer.MAX_VALUE) {
                throw b.corrupt("the TIFF size tag points outside the file");
            }
            at = (int) offset;
        }
        return switch (size) {
            case 2 -> b.u16(at);
            case 4 -> b.u32(at);
            default -> b.u64(at);
        };
    }

    // ---------------------------------------------------------------- helpers

    static boolean startsWith(byte[] d, int offset, int... expected) {
        if (d.length < offset + expected.length) {
            return false;
        }
        for (int i = 0; i < expected.length; i++) {
            if ((d[offset + i] & 0xFF) != (expected[i] & 0xFF)) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWith(byte[] d, int offset, byte[] expected) {
        if (d.length < offset + expected.length) {
            return false;
        }
        for (int i = 0; i < expected.length; i++) {
            if (d[offset + i] != expected[i]) {
                return false;
            }
        }
        return true;
    }

    /** C's isspace() in the "C" locale. */
    static boolean isSpace(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return sb.toString();
    }
}
