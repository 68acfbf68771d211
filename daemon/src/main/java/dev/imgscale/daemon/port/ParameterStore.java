package dev.imgscale.daemon.port;

import java.util.Map;

/**
 * Where a stack's parameters are kept, so that a deployed daemon needs nothing but the stack name
 * to find its model, buckets and queues: SSM Parameter Store on AWS ({@link SsmParameterStore}),
 * a JSON file for the local stack, which has no SSM ({@link FileParameterStore}).
 *
 * <p>Keys are {@link ConfigLoader#KEYS configuration keys} such as {@code model} or
 * {@code input-bucket}; values are non-empty strings.
 */
public interface ParameterStore {

    /**
     * The stack's parameters, by key; empty when the stack has none.
     *
     * @throws dev.imgscale.classifier.ImgscaleException when the store cannot be read for a
     *     reason the user can fix (access denied, no credentials, a damaged file)
     */
    Map<String, String> read(String stack);

    /**
     * Stores {@code parameters} for the stack, replacing the values of the same keys. Keys not in
     * {@code parameters} are left as they are.
     *
     * @throws IllegalArgumentException when a key or value is empty
     */
    void write(String stack, Map<String, String> parameters);

    /** Deletes every parameter of the stack. Deleting a stack that has none is not an error. */
    void delete(String stack);

    /** Where the stack's parameters live, for messages: {@code ssm:/imgscale/<stack>}, a file path. */
    String location(String stack);
}
