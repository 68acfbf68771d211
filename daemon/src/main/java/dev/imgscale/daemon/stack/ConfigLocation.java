package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.aws.SsmParameterStore;
import dev.imgscale.daemon.port.ParameterStore;
import dev.imgscale.daemon.wire.StackNames;
import dev.imgscale.classifier.ImgscaleException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.ssm.SsmClient;

/**
 * Where the value of {@code --config} says settings come from, besides flags and the environment.
 *
 * <ul>
 *   <li>{@code ssm:/imgscale/<stack>}: the stack's parameters in SSM Parameter Store (see
 *       {@link SsmParameterStore}); this also names the stack. The default config file still applies.
 *   <li>{@code file:PATH}, {@code file:///abs/path} or a plain {@code PATH}: a
 *       {@link ConfigLoader#readFile config file} of {@code key = value} lines, which must exist.
 *   <li>nothing: the default config file ({@link ConfigLoader#defaultFile}), if there is one.
 * </ul>
 *
 * <p>A leading {@code ~/} in a path means the home folder, since no shell expands it inside
 * {@code --config=~/...} or {@code file:~/...}.
 *
 * @param file     the config file to read ({@code key = value}); it may not exist when it is the default
 * @param ssmStack the stack whose SSM parameters to read, or null when the source is not SSM
 */
public record ConfigLocation(Path file, String ssmStack) {

    private static final String SSM = "ssm:";
    private static final String FILE = "file:";
    private static final Pattern OTHER_SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]+:.*");

    public ConfigLocation {
        Objects.requireNonNull(file, "file");
        if (ssmStack != null) {
            StackNames.checkStack(ssmStack);
        }
    }

    /**
     * Parses a {@code --config} value.
     *
     * @param value the option's value; null or blank for the default
     * @param env   the environment (for {@code XDG_CONFIG_HOME} and the default file)
     * @throws ImgscaleException when the value has an unknown form, names an invalid stack, or names
     *     a config file that does not exist
     */
    public static ConfigLocation parse(String value, Map<String, String> env) {
        Path defaultFile = ConfigLoader.defaultFile(env);
        if (value == null || value.isBlank()) {
            return new ConfigLocation(defaultFile, null);
        }
        String v = value.strip();
        if (v.startsWith(SSM)) {
            return new ConfigLocation(defaultFile, ssmStack(v));
        }
        Path file;
        if (v.startsWith("file://")) {
            try {
                file = Path.of(URI.create(v));
            } catch (IllegalArgumentException e) {
                throw new ImgscaleException("--config " + v + " is not a valid file URL; write file:/absolute/path or file:relative/path.", e);
            }
        } else if (v.startsWith(FILE)) {
            file = path(v.substring(FILE.length()));
        } else if (OTHER_SCHEME.matcher(v).matches()) {
            throw new ImgscaleException("--config " + v + " is neither ssm:/imgscale/<stack> nor a file; write file:PATH for a file whose name contains ':'.");
        } else {
            file = path(v);
        }
        if (!Files.isRegularFile(file)) {
            throw new ImgscaleException("The config file " + file + " given with --config does not exist; check the path.");
        }
        return new ConfigLocation(file, null);
    }

    /** True when settings come from SSM Parameter Store. */
    public boolean isSsm() {
        return ssmStack != null;
    }

    /** The SSM store to read {@link #ssmStack()} from. */
    public ParameterStore ssmStore(SsmClient ssm) {
        if (!isSsm()) {
            throw new IllegalStateException("--config does not name SSM: " + this);
        }
        return new SsmParameterStore(ssm);
    }

    private static String ssmStack(String v) {
        String path = v.substring(SSM.length());
        String prefix = SsmParameterStore.ROOT + "/";
        String stack = path.startsWith(prefix) ? path.substring(prefix.length()) : "";
        if (stack.endsWith("/")) {
            stack = stack.substring(0, stack.length() - 1);
        }
        if (stack.isEmpty() || stack.contains("/")) {
            throw new ImgscaleException("--config " + v + " must look like ssm:/imgscale/<stack>, for example ssm:/imgscale/"
                    + StackConfig.DEFAULT_STACK + ".");
        }
        StackNames.checkStack(stack);
        return stack;
    }

    private static Path path(String text) {
        if (text.isBlank()) {
            throw new ImgscaleException("--config file: needs a path, for example file:~/.config/imgscale/config.");
        }
        if (text.equals("~") || text.startsWith("~/")) {
            return Path.of(System.getProperty("user.home"), text.substring(1).replaceFirst("^/", ""));
        }
        return Path.of(text);
    }
}
