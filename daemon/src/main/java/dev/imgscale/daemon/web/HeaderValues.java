package dev.imgscale.daemon.web;

import java.nio.charset.StandardCharsets;

/**
 * Header values that carry names. HTTP/1.1 header bytes are Latin-1 at best (Undertow writes each
 * char as one byte, so a name like {@code 鳥.jpg} was garbled); names go out percent-encoded as
 * UTF-8, as RFC 8187 does for parameters. Every byte but RFC 3986's unreserved characters and
 * {@code /} is encoded, so {@code decodeURIComponent} (JS), {@code urllib.parse.unquote} (Python)
 * and {@code URLDecoder.decode(v, UTF_8)} (Java, since {@code +} is encoded too) all decode it.
 */
final class HeaderValues {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private HeaderValues() {
    }

    static String encode(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
                    || c == '/') {
                out.append((char) c);
            } else {
                out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return out.toString();
    }
}
