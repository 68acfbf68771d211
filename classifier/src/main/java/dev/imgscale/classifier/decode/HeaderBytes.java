package dev.imgscale.classifier.decode;

import java.nio.charset.StandardCharsets;

/** Bounds-checked reads: any read past the end is a truncated header, reported as CORRUPT. */
final class HeaderBytes {
    final byte[] data;
    final ImageFormat format;
    boolean littleEndian; // for TIFF's u16/u32/u64

    HeaderBytes(byte[] data, ImageFormat format) {
        this.data = data;
        this.format = format;
    }

    int length() {
        return data.length;
    }

    ImageRejectedException corrupt(String message) {
        return new ImageRejectedException(ErrorCode.CORRUPT, message);
    }

    private void need(long offset, int n) throws ImageRejectedException {
        if (offset < 0 || offset + n > data.length) {
            throw corrupt("the " + formatName() + " header is truncated: it needs byte " + (offset + n - 1)
                    + " but the file has " + data.length + " bytes");
        }
    }

    private String formatName() {
        return format == ImageFormat.WEBP ? "WebP" : format.toString();
    }

    int u8(int i) throws ImageRejectedException {
        need(i, 1);
        return data[i] & 0xFF;
    }

    int u16be(int i) throws ImageRejectedException {
        need(i, 2);
        return ((data[i] & 0xFF) << 8) | (data[i + 1] & 0xFF);
    }

    int u16le(int i) throws ImageRejectedException {
        need(i, 2);
        return (data[i] & 0xFF) | ((data[i + 1] & 0xFF) << 8);
    }

    int u24le(int i) throws ImageRejectedException {
        need(i, 3);
        return (data[i] & 0xFF) | ((data[i + 1] & 0xFF) << 8) | ((data[i + 2] & 0xFF) << 16);
    }

    long u32be(int i) throws ImageRejectedException {
        need(i, 4);
        return ((long) (data[i] & 0xFF) << 24) | ((data[i + 1] & 0xFF) << 16)
                | ((data[i + 2] & 0xFF) << 8) | (data[i + 3] & 0xFF);
    }

    long u32le(int i) throws ImageRejectedException {
        need(i, 4);
        return ((long) (data[i + 3] & 0xFF) << 24) | ((data[i + 2] & 0xFF) << 16)
                | ((data[i + 1] & 0xFF) << 8) | (data[i] & 0xFF);
    }

    int i32le(int i) throws ImageRejectedException {
        return (int) u32le(i);
    }

    int u16(int i) throws ImageRejectedException {
        return littleEndian ? u16le(i) : u16be(i);
    }

    long u32(int i) throws ImageRejectedException {
        return littleEndian ? u32le(i) : u32be(i);
    }

    /** Unsigned 64-bit; values above Long.MAX_VALUE come back as Long.MAX_VALUE (out of range anyway). */
    long u64(int i) throws ImageRejectedException {
        need(i, 8);
        long hi = littleEndian ? u32le(i + 4) : u32be(i);
        long lo = littleEndian ? u32le(i) : u32be(i + 4);
        if (hi >= 0x8000_0000L) {
            return Long.MAX_VALUE;
        }
        return (hi << 32) | lo;
    }

    boolean matches(int i, String ascii) {
        if (i < 0 || i + ascii.length() > data.length) {
            return false;
        }
        for (int k = 0; k < ascii.length(); k++) {
            if (data[i + k] != (byte) ascii.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    String ascii(int i, int n) throws ImageRejectedException {
        need(i, n);
        return new String(data, i, n, StandardCharsets.ISO_8859_1);
    }
}
