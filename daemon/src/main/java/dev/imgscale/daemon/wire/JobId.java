package dev.imgscale.daemon.wire;

import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Pattern;

/** Job ids sort by creation time and read well: {@code 20261123-235959-3f9a1c}. */
public final class JobId {
    private static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private JobId() {
    }

    public static String next(Instant now) {
        return FORMAT.format(now) + "-" + String.format("%06x", RANDOM.nextInt(1 << 24));
    }

    /** Whether the id is safe to use in keys (a user may type one). */
    public static boolean valid(String id) {
        return id != null && VALID.matcher(id).matches();
    }
}
