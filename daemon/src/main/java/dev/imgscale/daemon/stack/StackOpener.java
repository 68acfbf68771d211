package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.local.FileParameterStore;
import dev.imgscale.daemon.port.ParameterStore;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.AwsSettings;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.local.LocalStackState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Reaches a stack from what a command was given: the flags, the environment, the config file,
 * and the stack's stored parameters (SSM Parameter Store on AWS, a file for the local stack).
 */
public final class StackOpener {
    private StackOpener() {
    }

    /**
     * What to open.
     *
     * @param flags        configuration keys given as flags (stack, region, profile, model, ...)
     * @param local        use the local stack that {@code imgscale local up} is running
     * @param configSource {@code ssm:/imgscale/<stack>}, {@code file:PATH} or a plain path; null for the default file
     */
    public record Request(Map<String, String> flags, boolean local, String configSource, Map<String, String> env) {
    }

    /** imgscale's own folder: {@code IMGSCALE_HOME}, default {@code ~/.imgscale}. */
    public static Path home(Map<String, String> env) {
        String home = env.get("IMGSCALE_HOME");
        return home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".imgscale");
    }

    /** The local stack's default data folder. */
    public static Path localDir(Map<String, String> env) {
        return home(env).resolve("local");
    }

    /** Where a running local stack records its endpoints. */
    public static Path localStateFile(Map<String, String> env) {
        return localDir(env).resolve("state.json");
    }

    /** The running local stack's state, or a user error saying how to start one. */
    public static LocalStackState runningLocalStack(Map<String, String> env) {
        Path file = localStateFile(env);
        Optional<LocalStackState> state;
        try {
            state = LocalStack.readState(file);
        } catch (IllegalStateException e) {
            throw new ImgscaleException(e.getMessage(), e);
        }
        if (state.isEmpty() || !state.get().isProcessAlive()) {
            throw new ImgscaleException("No local stack is running (" + (state.isEmpty() ? "no " + file : file + " is stale")
                    + "); start one with `imgscale local up` in another terminal.");
        }
        return state.get();
    }

    public static StackContext open(Request request) {
        Map<String, String> env = request.env();
        ConfigLocation source = ConfigLocation.parse(request.configSource(), env);
        List<Map<String, String>> layers = new ArrayList<>();
        layers.add(request.flags());
        if (source.ssmStack() != null) {
            layers.add(Map.of("stack", source.ssmStack()));
        }
        layers.add(ConfigLoader.fromEnvironment(env));
        layers.add(ConfigLoader.readFile(source.file()));
        if (request.local()) {
            LocalStackState state = runningLocalStack(env);
            ParameterStore params = new FileParameterStore(state.dataDir().resolve("params"));
            Map<String, String> values = ConfigLoader.merge(layers, params::read);
            AwsClients clients = new AwsClients(state.settings());
            return new StackContext(ConfigLoader.build(values, state.settings(), true, null), clients);
        }
        AwsSettings aws = AwsSettings.fromEnvironment(env);
        // flags, then the AWS environment (AWS_REGION, AWS_PROFILE), then the config file; never SSM,
        // which needs them to be reached
        Map<String, String> known = ConfigLoader.merge(layers, null);
        String region = request.flags().get("region") != null || aws.region() != null ? request.flags().get("region") : known.get("region");
        String profile = request.flags().get("profile") != null || aws.profile() != null ? request.flags().get("profile") : known.get("profile");
        if (region != null || profile != null) {
            aws = new AwsSettings(region != null ? region : aws.region(), profile != null ? profile : aws.profile(), aws.endpoints(),
                    aws.credentials(), aws.apiCallTimeout(), aws.apiCallAttemptTimeout(), aws.retryMode(), aws.s3PathStyle());
        }
        AwsClients clients = new AwsClients(aws);
        try {
            Function<String, Map<String, String>> parameters = source.ssmStack() == null ? null
                    : stack -> source.ssmStore(clients.ssm()).read(source.ssmStack());
            Map<String, String> values = ConfigLoader.merge(layers, parameters);
            String suffix = null;
            if (!values.containsKey("input-bucket") || !values.containsKey("output-bucket")) {
                suffix = AccountInfo.bucketSuffix(clients.sts(), clients.region().id());
            }
            return new StackContext(ConfigLoader.build(values, aws, false, suffix), clients);
        } catch (RuntimeException e) {
            clients.close();
            throw e;
        }
    }
}
