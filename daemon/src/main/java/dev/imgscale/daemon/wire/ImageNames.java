package dev.imgscale.daemon.wire;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns file paths into image names that are safe as object keys within a job: '/' separates
 * folders, no empty, "." or ".." segment, no control characters, no backslash; Unicode (NFC) and
 * spaces are kept. Names are compared as S3 compares keys: case-sensitively, so {@code DUP.jpg}
 * and {@code dup.jpg} are two names. Names that collide are made unique within a job by a
 * {@code ~2}, {@code ~3}... suffix that never takes a name another input of the job has, when
 * the inputs are known up front ({@link #assign} or {@link #ImageNames(Collection)}).
 */
public final class ImageNames {
    /**
     * The longest name in UTF-8 bytes: S3 keys are at most 1,024 bytes, and the longest key a name
     * goes into is {@code results/<job>/<name>.json} with a job id of up to 64 characters.
     */
    public static final int MAX_BYTES = 1024 - Keys.RESULTS.length() - 64 - 1 - Keys.RESULT_SUFFIX.length();

    private final Set<String> used = new HashSet<>();
    private final Set<String> claimed = new HashSet<>();

    /** Names assigned one at a time, with no knowledge of the inputs still to come. */
    public ImageNames() {
    }

    /**
     * Names for a job whose inputs are all known: a suffix never takes the name of any of
     * {@code inputs} (relative paths, as given to {@link #unique}).
     */
    public ImageNames(Collection<String> inputs) {
        for (String input : inputs) {
            claimed.add(sanitise(input));
        }
    }

    /** One unique name per input, in order; a collision suffix never takes another input's name. */
    public static List<String> assign(List<String> inputs) {
        ImageNames names = new ImageNames(inputs);
        List<String> out = new ArrayList<>(inputs.size());
        for (String input : inputs) {
            out.add(names.unique(input));
        }
        return out;
    }

    /** The sanitised form of a relative path ('/' or '\' separated); at most {@link #MAX_BYTES} UTF-8 bytes. */
    public static String sanitise(String relative) {
        String name = clean(Normalizer.normalize(relative, Normalizer.Form.NFC));
        // Too long: keep the end (the file name and its extension say most), then clean again so
        // that the cut leaves no partial "." segment or leading space; sanitise stays idempotent.
        while (utf8Length(name) > MAX_BYTES) {
            name = clean(Normalizer.normalize(tail(name, MAX_BYTES), Normalizer.Form.NFC));
        }
        return name;
    }

    /** A unique sanitised name for this job (the first input with a name keeps it). */
    public synchronized String unique(String relative) {
        String name = sanitise(relative);
        if (used.add(name)) {
            return name;
        }
        return suffixed(name, candidate -> !claimed.contains(candidate) && used.add(candidate));
    }

    /**
     * The collision rule, shared with {@link HashedImageNames}: {@code name~2.ext}, {@code ~3}...
     * (cut to fit the byte limit), the first that {@code take} accepts (it checks and claims).
     */
    static String suffixed(String name, java.util.function.Predicate<String> take) {
        int slash = name.lastIndexOf('/');
        int dot = name.lastIndexOf('.');
        String stem = dot > slash + 1 ? name.substring(0, dot) : name;
        String ext = dot > slash + 1 ? name.substring(dot) : "";
        for (int i = 2; ; i++) {
            String candidate = fit(stem, "~" + i + ext);
            if (take.test(candidate)) {
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

    /** The length of a string in UTF-8 bytes (as S3 counts key lengths). */
    public static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    private static String clean(String path) {
        StringBuilder out = new StringBuilder();
        for (String segment : path.replace('\\', '/').split("/")) {
            StringBuilder clean = new StringBuilder();
            segment.codePoints().forEach(cp -> {
                if (!Character.isISOControl(cp) && cp != 0x7f && Character.getType(cp) != Character.FORMAT
                        && Character.getType(cp) != Character.SURROGATE) {
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
        return out.length() == 0 ? "image" : out.toString();
    }

    /** The longest end of {@code s} of at most {@code maxBytes} UTF-8 bytes, cut between code points. */
    private static String tail(String s, int maxBytes) {
        int bytes = 0;
        int i = s.length();
        while (i > 0) {
            int cp = s.codePointBefore(i);
            int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + len > maxBytes) {
                break;
            }
            bytes += len;
            i -= Character.charCount(cp);
        }
        return s.substring(i);
    }

    /** {@code stem + suffix} within {@link #MAX_BYTES}, shortening the stem from its start if need be. */
    static String fit(String stem, String suffix) {
        String candidate = stem + suffix;
        if (utf8Length(candidate) <= MAX_BYTES) {
            return candidate;
        }
        return sanitise(tail(stem, MAX_BYTES - utf8Length(suffix)) + suffix);
    }
}
