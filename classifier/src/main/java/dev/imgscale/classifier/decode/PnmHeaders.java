package dev.imgscale.classifier.decode;

import java.util.Locale;

/**
 * The declared size of a Netpbm image: P1-P6 (ASCII numbers between whitespace and comments) and
 * P7 (PAM, keyword lines), read the way OpenCV's PNM decoder reads them.
 */
final class PnmHeaders {
    private PnmHeaders() {
    }

    static ImageHeader read(HeaderBytes b) throws ImageRejectedException {
        if (b.u8(1) == '7') {
            return pam(b);
        }
        // P1-P6: magic, then width, height (and maxval) as ASCII decimals separated by whitespace
        // and '#' comments, the way OpenCV's ReadNumber() reads them.
        int[] pos = {2};
        int width = pnmNumber(b, pos, "width");
        int height = pnmNumber(b, pos, "height");
        return new ImageHeader(ImageFormat.PNM, width, height);
    }

    private static int pnmNumber(HeaderBytes b, int[] pos, String what) throws ImageRejectedException {
        int p = pos[0];
        while (true) {
            if (p >= b.length()) {
                throw b.corrupt("the PNM header ends before its " + what);
            }
            int c = b.u8(p);
            if (c == '#') {
                while (p < b.length() && b.u8(p) != '\n' && b.u8(p) != '\r') {
                    p++;
                }
            } else if (ImageHeaders.isSpace(c)) {
                p++;
            } else if (c >= '0' && c <= '9') {
                break;
            } else {
                throw b.corrupt("the PNM header has an unexpected byte 0x" + Integer.toHexString(c)
                        + " where its " + what + " should be");
            }
        }
        long value = 0;
        while (p < b.length() && b.u8(p) >= '0' && b.u8(p) <= '9') {
            value = value * 10 + (b.u8(p) - '0');
            if (value > Integer.MAX_VALUE) {
                throw b.corrupt("the PNM header declares an impossible " + what);
            }
            p++;
        }
        pos[0] = p;
        return (int) value;
    }

    /** PAM (P7): "KEY value" lines up to ENDHDR; WIDTH and HEIGHT are required. */
    private static ImageHeader pam(HeaderBytes b) throws ImageRejectedException {
        long width = -1;
        long height = -1;
        int p = 3;
        while (true) {
            if (p >= b.length()) {
                throw b.corrupt("the PAM header ends without ENDHDR");
            }
            int end = p;
            while (end < b.length() && b.u8(end) != '\n') {
                end++;
            }
            String line = b.ascii(p, end - p).strip();
            p = end + 1;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] kv = line.split("\\s+", 2);
            String key = kv[0].toUpperCase(Locale.ROOT);
            if (key.equals("ENDHDR")) {
                break;
            }
            if (key.equals("WIDTH") || key.equals("HEIGHT")) {
                long v;
                try {
                    v = kv.length < 2 ? -1 : Long.parseLong(kv[1].strip());
                } catch (NumberFormatException e) {
                    v = -1;
                }
                if (v < 0 || v > Integer.MAX_VALUE) {
                    throw b.corrupt("the PAM header has an invalid " + key + " line");
                }
                if (key.equals("WIDTH")) {
                    width = v;
                } else {
                    height = v;
                }
            }
        }
        if (width < 0 || height < 0) {
            throw b.corrupt("the PAM header has no " + (width < 0 ? "WIDTH" : "HEIGHT"));
        }
        return new ImageHeader(ImageFormat.PNM, (int) width, (int) height);
    }
}
