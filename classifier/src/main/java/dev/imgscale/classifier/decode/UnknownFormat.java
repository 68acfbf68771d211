package dev.imgscale.classifier.decode;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The one-sentence rejection of bytes in no format imgscale decodes: what they look like when that
 * is easy to tell (AVIF, HEIC, PDF, text...), and their first bytes.
 */
final class UnknownFormat {
    private UnknownFormat() {
    }

    /** One sentence for an unrecognised file, naming what it looks like when that is easy to tell. */
    static String describe(byte[] d) {
        String looks = looksLike(d);
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(8, d.length); i++) {
            hex.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%02X", d[i] & 0xFF));
        }
        return "not a supported image format" + (looks == null ? "" : " (the content looks like " + looks + ")")
                + "; accepted are JPEG, PNG, BMP, WebP, TIFF and PNM; the file starts with bytes " + hex;
    }

    private static String looksLike(byte[] d) {
        if (ImageHeaders.startsWith(d, 4, 'f', 't', 'y', 'p')) {
            String brand = d.length >= 12 ? new String(d, 8, 4, StandardCharsets.ISO_8859_1) : "";
            if (brand.startsWith("avi")) {
                return "AVIF";
            }
            if (brand.startsWith("hei") || brand.startsWith("mif") || brand.startsWith("hev")) {
                return "HEIC/HEIF";
            }
            return "an ISO media file (MP4/MOV/HEIF)";
        }
        if (ImageHeaders.startsWith(d, 0, '%', 'P', 'D', 'F')) {
            return "PDF";
        }
        if (ImageHeaders.startsWith(d, 0, 'P', 'K', 3, 4)) {
            return "a ZIP archive";
        }
        if (ImageHeaders.startsWith(d, 0, 0x1F, 0x8B)) {
            return "gzip data";
        }
        if (ImageHeaders.startsWith(d, 0, 0, 0, 0, 0x0C, 'j', 'P', ' ', ' ') || ImageHeaders.startsWith(d, 0, 0xFF, 0x4F, 0xFF, 0x51)) {
            return "JPEG 2000";
        }
        if (ImageHeaders.startsWith(d, 0, 0xFF, 0x0A) || ImageHeaders.startsWith(d, 0, 0, 0, 0, 0x0C, 'J', 'X', 'L', ' ')) {
            return "JPEG XL";
        }
        if (ImageHeaders.startsWith(d, 0, 0, 0, 1, 0)) {
            return "a Windows icon";
        }
        if (ImageHeaders.startsWith(d, 0, '8', 'B', 'P', 'S')) {
            return "a Photoshop document";
        }
        if (ImageHeaders.startsWith(d, 0, 0x76, 0x2F, 0x31, 0x01)) {
            return "OpenEXR";
        }
        if (ImageHeaders.startsWith(d, 0, '#', '?')) {
            return "Radiance HDR";
        }
        int n = Math.min(d.length, 1024);
        int printable = 0;
        for (int i = 0; i < n; i++) {
            int c = d[i] & 0xFF;
            if (c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7F)) {
                printable++;
            }
        }
        if (n > 0 && printable == n) {
            String head = new String(d, 0, n, StandardCharsets.ISO_8859_1)
                    .replace("\u00EF\u00BB\u00BF", "") // UTF-8 byte-order mark
                    .stripLeading().toLowerCase(Locale.ROOT);
            if (head.startsWith("<!doctype html") || head.startsWith("<html") || head.contains("<body")
                    || head.contains("<head")) {
                return "HTML (an error page saved as an image?)";
            }
            if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.contains("<svg"))) {
                return "SVG";
            }
            if (head.startsWith("<?xml") || head.startsWith("<")) {
                return "XML";
            }
            if (head.startsWith("{") || head.startsWith("[")) {
                return "JSON or other text";
            }
            return "text";
        }
        return null;
    }
}
