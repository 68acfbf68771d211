package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.wire.StackNames;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Merges configuration, first source wins: command-line flags, then the environment
 * ({@code IMGSCALE_<KEY>} with '-' as '_', e.g. {@code IMGSCALE_INPUT_BUCKET}), then the config file
 * ({@code ~/.config/imgscale/config}: {@code key = value} lines, '#' comments), then a parameter
 * source such as SSM Parameter Store ({@code --config ssm:/imgscale/<stack>}).
 *
 * <p>Keys: {@code stack, region, profile, model, input-bucket, output-bucket, request-queue,
 * dead-letter-queue, result-queue, visibility-timeout} (seconds), {@code max-receives},
 * {@code source-buckets} (comma-separated: the buckets workers may read images from in place), and the EC2
 * fleet's keys ({@link dev.imgscale.daemon.aws.Ec2FleetConfig#KEYS}).
 */
public final class ConfigLoader {
    public static final List<String> KEYS = keys();

    private static List<String> keys() {
        List<String> keys = new java.util.ArrayList<>(List.of("stack", "region", "profile", "model", "input-bucket", "output-bucket",
                "request-queue", "dead-letter-queue", "result-queue", "visibility-timeout", "max-receives", StackConfig.SOURCE_BUCKETS));
        keys.addAll(dev.imgscale.daemon.aws.Ec2FleetConfig.KEYS);
        return List.copyOf(keys);
    }

    private ConfigLoader() {
    }

    /** The default config file: {@code $XDG_CONFIG_HOME/imgscale/config} or {@code ~/.config/imgscale/config}. */
    public static Path defaultFile(Map<String, String> env) {
        String xdg = env.get("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("imgscale/config");
    }

    /** Reads a {@code key = value} file; a missing file is empty. */
    public static Map<String, String> readFile(Path file) {
        Map<String, String> values = new LinkedHashMap<>();
        if (file == null || !Files.isRegularFile(file)) {
            return values;
        }
        try {
            int n = 0;
            for (String raw : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                n++;
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int eq = line.indexOf('=');
                if (eq <= 0) {
                    throw new ImgscaleException("Line " + n + " of " + file + " is not 'key = value': " + line);
                }
                values.put(normalise(line.substring(0, eq)), line.substring(eq + 1).strip());
            }
            return values;
        } catch (IOException e) {
            throw new ImgscaleException("Cannot read the config file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The IMGSCALE_* variables of the environment, as config keys. */
    public static Map<String, String> fromEnvironment(Map<String, String> env) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String key : KEYS) {
            String value = env.get("IMGSCALE_" + key.toUpperCase(Locale.ROOT).replace('-', '_'));
            if (value != null && !value.isBlank()) {
                values.put(key, value.strip());
            }
        }
        return values;
    }

    static String normalise(String key) {
        return key.strip().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * Merges the sources, earlier first. {@code parameters} looks up the parameter source once the
     * stack name is known (it may be null).
     */
    public static Map<String, String> merge(List<Map<String, String>> sources, Function<String, Map<String, String>> parameters) {
        Map<String, String> merged = new LinkedHashMap<>();
        for (Map<String, String> source : sources) {
            source.forEach((k, v) -> {
                if (v != null && !v.isBlank()) {
                    merged.putIfAbsent(normalise(k), v);
                }
            });
        }
        if (parameters != null) {
            String stack = merged.getOrDefault("stack", StackConfig.DEFAULT_STACK);
            parameters.apply(stack).forEach((k, v) -> merged.putIfAbsent(normalise(k), v));
        }
        for (String key : merged.keySet()) {
            if (!KEYS.contains(key)) {
                throw new ImgscaleException("Unknown configuration key '" + key + "'; known keys: " + String.join(", ", KEYS) + ".");
            }
        }
        return merged;
    }

    /**
     * The stack configuration from merged values.
     *
     * @param aws          how to reach AWS or the local stack
     * @param local        whether this is the local stack
     * @param bucketSuffix on AWS {@code <account>-<region>} (bucket names are global); null locally
     */
    public static StackConfig build(Map<String, String> values, AwsSettings aws, boolean local, String bucketSuffix) {
        String stack = values.getOrDefault("stack", StackConfig.DEFAULT_STACK);
        StackNames d = StackNames.derive(stack, local ? null : bucketSuffix);
        StackNames names = new StackNames(stack,
                values.getOrDefault("input-bucket", d.inputBucket()),
                values.getOrDefault("output-bucket", d.outputBucket()),
                values.getOrDefault("request-queue", d.requestQueue()),
                values.getOrDefault("dead-letter-queue", d.deadLetterQueue()),
                values.getOrDefault("result-queue", d.resultQueue()));
        String model = values.getOrDefault("model", local ? StackConfig.DEFAULT_LOCAL_MODEL : StackConfig.DEFAULT_AWS_MODEL);
        Duration visibility = Duration.ofSeconds(integer(values, "visibility-timeout", (int) StackConfig.DEFAULT_VISIBILITY.toSeconds()));
        int maxReceives = integer(values, "max-receives", StackConfig.DEFAULT_MAX_RECEIVES);
        return new StackConfig(names, model, aws, local, visibility, maxReceives, values);
    }

    private static int integer(Map<String, String> values, String key, int fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new ImgscaleException("The configuration value " + key + " = '" + v + "' is not a whole number.");
        }
    }
}
