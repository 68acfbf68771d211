package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.port.ParameterStore;
import dev.imgscale.daemon.wire.StackNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.ssm.SsmClient;
import software.amazon.awssdk.services.ssm.model.GetParametersByPathRequest;
import software.amazon.awssdk.services.ssm.model.GetParametersByPathResponse;
import software.amazon.awssdk.services.ssm.model.Parameter;
import software.amazon.awssdk.services.ssm.model.ParameterType;

/**
 * A stack's parameters in SSM Parameter Store, one {@code String} parameter per key under
 * {@code /imgscale/<stack>/<key>} (for example {@code /imgscale/imgscale/model}), so that a worker
 * started from user data that carries no settings finds them with {@code --config ssm:/imgscale/<stack>}.
 *
 * <p>IAM: reading needs {@code ssm:GetParametersByPath} on {@code arn:aws:ssm:<region>:<account>:parameter/imgscale/<stack>}
 * (and {@code kms:Decrypt} only if someone stored a SecureString there); {@code init} also needs
 * {@code ssm:PutParameter}, {@code destroy} {@code ssm:DeleteParameters}, both on
 * {@code parameter/imgscale/<stack>/*}.
 *
 * <p>Standard parameters are free but PutParameter is throttled at about 40 calls a second per
 * account; the SDK's retries absorb the occasional ThrottlingException, and {@code init} writes
 * only the values that changed.
 */
public final class SsmParameterStore implements ParameterStore {

    /** The root of every imgscale parameter path. */
    public static final String ROOT = "/imgscale";

    /** SSM's limit on names per DeleteParameters call. */
    static final int DELETE_BATCH = 10;

    /** SSM's largest page for GetParametersByPath. */
    static final int PAGE_SIZE = 10;

    /** The characters SSM allows in a parameter name, minus '/', which would nest keys. */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_.-]+");

    /** A standard-tier parameter value holds at most 4 KB. */
    private static final int MAX_VALUE_CHARS = 4096;

    private final SsmClient ssm;

    /** A store over {@code ssm}, which the caller owns (normally {@code AwsClients.ssm()}). */
    public SsmParameterStore(SsmClient ssm) {
        this.ssm = Objects.requireNonNull(ssm, "ssm");
    }

    /** {@code /imgscale/<stack>}, the path under which the stack's parameters live. */
    public static String path(String stack) {
        StackNames.checkStack(stack);
        return ROOT + "/" + stack;
    }

    /** {@code /imgscale/<stack>/<key>}, the name of one parameter. */
    public static String name(String stack, String key) {
        return path(stack) + "/" + checkKey(key);
    }

    @Override
    public Map<String, String> read(String stack) {
        String path = path(stack);
        Map<String, String> values = new LinkedHashMap<>();
        for (Parameter p : list(path)) {
            values.put(p.name().substring(path.length() + 1), p.value());
        }
        return values;
    }

    @Override
    public void write(String stack, Map<String, String> parameters) {
        Map<String, String> checked = new LinkedHashMap<>();
        parameters.forEach((key, value) -> checked.put(name(stack, key), checkValue(key, value)));
        for (Map.Entry<String, String> e : checked.entrySet()) {
            try {
                ssm.putParameter(r -> r.name(e.getKey()).value(e.getValue()).type(ParameterType.STRING).overwrite(true));
            } catch (SdkException failure) {
                throw AwsFailure.translate(failure, "ssm:PutParameter", e.getKey(), region());
            }
        }
    }

    @Override
    public void delete(String stack) {
        String path = path(stack);
        List<String> names = new ArrayList<>();
        for (Parameter p : list(path)) {
            names.add(p.name());
        }
        for (int i = 0; i < names.size(); i += DELETE_BATCH) {
            List<String> batch = names.subList(i, Math.min(names.size(), i + DELETE_BATCH));
            try {
                // Names that vanished meanwhile come back in InvalidParameters, not as an error: fine.
                ssm.deleteParameters(r -> r.names(batch));
            } catch (SdkException failure) {
                throw AwsFailure.translate(failure, "ssm:DeleteParameters", path + "/*", region());
            }
        }
    }

    @Override
    public String location(String stack) {
        return "ssm:" + path(stack);
    }

    /** Every parameter under {@code path}, following NextToken (pages may be empty yet carry one). */
    private List<Parameter> list(String path) {
        List<Parameter> all = new ArrayList<>();
        String token = null;
        try {
            do {
                GetParametersByPathRequest.Builder request = GetParametersByPathRequest.builder()
                        .path(path)
                        .recursive(true)
                        .withDecryption(true)
                        .maxResults(PAGE_SIZE);
                if (token != null) {
                    request.nextToken(token);
                }
                GetParametersByPathResponse page = ssm.getParametersByPath(request.build());
                all.addAll(page.parameters());
                token = page.nextToken();
            } while (token != null && !token.isEmpty());
        } catch (SdkException failure) {
            throw AwsFailure.translate(failure, "ssm:GetParametersByPath", path, region());
        }
        return all;
    }

    private String region() {
        return String.valueOf(ssm.serviceClientConfiguration().region());
    }

    private static String checkKey(String key) {
        if (key == null || !KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("A parameter key must be letters, digits, '_', '.' or '-': '" + key + "'");
        }
        return key;
    }

    private static String checkValue(String key, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("SSM cannot store an empty value (key " + key + ")");
        }
        if (value.length() > MAX_VALUE_CHARS) {
            throw new IllegalArgumentException("The value of " + key + " is longer than SSM's 4 KB limit");
        }
        return value;
    }
}
