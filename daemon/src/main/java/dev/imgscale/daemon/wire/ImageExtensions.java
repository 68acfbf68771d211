package dev.imgscale.daemon.wire;

import java.util.Locale;
import java.util.Set;

/** The file name extensions taken as images when a folder or a bucket prefix is expanded. */
public final class ImageExtensions {
    public static final Set<String> ALL = Set.of("jpg", "jpeg", "jpe", "png", "bmp", "dib", "webp", "tif", "tiff",
            "ppm", "pgm", "pbm", "pnm", "gif");

    private ImageExtensions() {
    }

    /** Whether the last segment of a file name or key ends in an image extension (any case). */
    public static boolean matches(String name) {
        String base = name.substring(name.lastIndexOf('/') + 1);
        int dot = base.lastIndexOf('.');
        return dot > 0 && ALL.contains(base.substring(dot + 1).toLowerCase(Locale.ROOT));
    }
}
