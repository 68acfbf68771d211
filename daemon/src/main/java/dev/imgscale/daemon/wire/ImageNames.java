package dev.imgscale.daemon.wire;

import java.text.Normalizer;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Turns file paths into image names that are safe as object keys within a job: '/' separates
 * folders, no empty, "." or ".." segment, no control characters, no backslash; Unicode (NFC) and
 * spaces are kept. Names are made unique within a job by a {@code ~2}, {@code ~3}... suffix.
 */
public final class ImageNames {
    private static final int MAX_LENGTH = 900; // S3 keys are at most 1024 bytes; leave room for the prefix

    private final Set<String> used = new HashSet<>();

    /** The sanitised form of a relative path ('/' or '\' separated). */
    public static String sanitise(String relative) {
        String nfc = Normalizer.normalize(relative, Normalizer.Form.NFC).replace('\\', '/');
        StringBuilder out = new StringBuilder();
        for (String segment : nfc.split("/")) {
            StringBuilder clean = new StringBuilder();
            segment.codePoints().forEach(cp -> {
                if (!Character.isISOControl(cp) && cp != 0x7f && Character.getType(cp) != Character.FORMAT) {
                    clean.appendCodePoint(cp);
                }
            });
            String s = clean.toString().strip();
            if (s.isEmpty() || s.equals(".") || s.equals("..")) {
                continue;
            }
            if (out.length() > 0) {
                out.append('/');
            }
            out.append(s);
        }
        String name = out.length() == 0 ? "image" : out.toString();
        if (name.length() > MAX_LENGTH) {
            name = name.substring(name.length() - MAX_LENGTH);
        }
        return name;
    }

    /** A unique sanitised name for this job. */
    public synchronized String unique(String relative) {
        String name = sanitise(relative);
        if (used.add(name.toLowerCase(Locale.ROOT))) {
            return name;
        }
        int slash = name.lastIndexOf('/');
        int dot = name.lastIndexOf('.');
        String stem = dot > slash + 1 ? name.substring(0, dot) : name;
        String ext = dot > slash + 1 ? name.substring(dot) : "";
        for (int i = 2; ; i++) {
            String candidate = stem + "~" + i + ext;
            if (used.add(candidate.toLowerCase(Locale.ROOT))) {
                return candidate;
            }
        }
    }

    /** The name's last segment without its extension, as the course tools print it. */
    public static String shortName(String name) {
        String base = name.substring(name.lastIndexOf('/') + 1);
        int dot = base.lastIndexOf('.');
        return dot > 0 ? base.substring(0, dot) : base;
    }
}
