package dev.imgscale.daemon.sim;

import dev.imgscale.classifier.ImgscaleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * When images arrive: a sorted list of arrival times in seconds from the start.
 * <ul>
 *   <li>{@code burst:N}: N images at once</li>
 *   <li>{@code steady:RATE:SECONDS}: RATE images a second, evenly spaced, for SECONDS</li>
 *   <li>a CSV file: one line per arrival, {@code seconds[,count]} (a header line is allowed)</li>
 * </ul>
 */
public record Trace(String name, double[] arrivals) {
    public static Trace parse(String spec) {
        if (spec.startsWith("burst:")) {
            int n = positiveInt(spec.substring(6), spec);
            return new Trace(spec, new double[n]);
        }
        if (spec.startsWith("steady:")) {
            String[] parts = spec.split(":");
            if (parts.length != 3) {
                throw new ImgscaleException("A steady trace is steady:RATE:SECONDS, e.g. steady:5:600, not " + spec + ".");
            }
            double rate = positiveDouble(parts[1], spec);
            double seconds = positiveDouble(parts[2], spec);
            int n = (int) Math.round(rate * seconds);
            double[] at = new double[n];
            for (int i = 0; i < n; i++) {
                at[i] = i / rate;
            }
            return new Trace(spec, at);
        }
        return csv(Path.of(spec));
    }

    static Trace csv(Path file) {
        List<Double> times = new ArrayList<>();
        try {
            int line = 0;
            for (String raw : Files.readAllLines(file)) {
                line++;
                String s = raw.strip();
                if (s.isEmpty() || s.startsWith("#")) {
                    continue;
                }
                String[] f = s.split(",");
                double t;
                try {
                    t = Double.parseDouble(f[0].strip());
                } catch (NumberFormatException e) {
                    if (line == 1) {
                        continue; // a header
                    }
                    throw new ImgscaleException("Line " + line + " of " + file + " does not start with a time in seconds: " + s);
                }
                int count = f.length > 1 && !f[1].isBlank() ? Integer.parseInt(f[1].strip()) : 1;
                for (int i = 0; i < count; i++) {
                    times.add(t);
                }
            }
        } catch (IOException e) {
            throw new ImgscaleException("Cannot read the trace " + file + ": " + e.getMessage() + " (or use burst:N, steady:RATE:SECONDS).", e);
        } catch (NumberFormatException e) {
            throw new ImgscaleException("Bad count in " + file + ": " + e.getMessage());
        }
        double[] at = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (at.length == 0) {
            throw new ImgscaleException("The trace " + file + " has no arrivals.");
        }
        return new Trace(file.getFileName().toString(), at);
    }

    public int size() {
        return arrivals.length;
    }

    private static int positiveInt(String s, String spec) {
        try {
            int n = Integer.parseInt(s);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        throw new ImgscaleException("Bad trace " + spec + ": " + s + " is not a positive whole number.");
    }

    private static double positiveDouble(String s, String spec) {
        try {
            double v = Double.parseDouble(s);
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        throw new ImgscaleException("Bad trace " + spec + ": " + s + " is not a positive number.");
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%d images over %.0f s)", name, arrivals.length,
                arrivals.length == 0 ? 0 : arrivals[arrivals.length - 1]);
    }
}
