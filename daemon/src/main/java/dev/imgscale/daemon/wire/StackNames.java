package dev.imgscale.daemon.wire;

import dev.imgscale.classifier.ImgscaleException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The names of a stack's resources, all derived from the stack name (and, on AWS, the account and
 * region, because bucket names are global): input and output buckets, the request queue, its
 * dead-letter queue and the result queue. Any of them can be overridden in the configuration.
 */
public record StackNames(String stack, String inputBucket, String outputBucket, String requestQueue,
                         String deadLetterQueue, String resultQueue) {
    /** The stack used when none is configured. */
    public static final String DEFAULT_STACK = "imgscale";
    private static final Pattern STACK = Pattern.compile("[a-z0-9][a-z0-9-]{0,27}");

    public StackNames {
        checkStack(stack);
    }

    public static void checkStack(String stack) {
        if (stack == null || !STACK.matcher(stack).matches()) {
            throw new ImgscaleException("The stack name '" + stack + "' must be 1-28 characters of a-z, 0-9 and '-', starting with a letter or digit.");
        }
    }

    /**
     * The default names: {@code <stack>-input[-<suffix>]}, {@code <stack>-output[-<suffix>]},
     * {@code <stack>-requests}, {@code <stack>-requests-dlq}, {@code <stack>-results}. On AWS the suffix is
     * {@code <account>-<region>}; locally there is none.
     */
    public static StackNames derive(String stack, String bucketSuffix) {
        checkStack(stack);
        String suffix = bucketSuffix == null || bucketSuffix.isBlank() ? "" : "-" + bucketSuffix.toLowerCase(Locale.ROOT);
        return new StackNames(stack, stack + "-input" + suffix, stack + "-output" + suffix,
                stack + "-requests", stack + "-requests-dlq", stack + "-results");
    }
}
