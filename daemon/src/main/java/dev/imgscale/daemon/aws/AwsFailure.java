package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Turns the AWS failures a user can fix (no or bad credentials, access denied, the wrong region,
 * an unreachable endpoint) into an {@link ImgscaleException} whose message says, in one sentence,
 * what went wrong and how to fix it. Anything else is returned unchanged: it is a bug or an outage,
 * and its stack trace is the evidence.
 */
public final class AwsFailure {

    /** The message when no credentials are found anywhere in the SDK's chain. */
    static final String NO_CREDENTIALS =
            "No AWS credentials found: run `aws configure`, set AWS_PROFILE, or use --local.";

    private static final Set<String> BAD_CREDENTIALS = Set.of("InvalidAccessKeyId", "InvalidClientTokenId",
            "UnrecognizedClientException", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidSignatureException",
            "AuthFailure");
    private static final Set<String> EXPIRED = Set.of("ExpiredToken", "ExpiredTokenException", "RequestExpired",
            "TokenRefreshRequired");
    private static final Set<String> DENIED = Set.of("AccessDenied", "AccessDeniedException", "AuthorizationError",
            "UnauthorizedOperation", "AllAccessDisabled");
    private static final Set<String> WRONG_REGION = Set.of("AuthorizationHeaderMalformed", "PermanentRedirect",
            "IllegalLocationConstraintException", "InvalidLocationConstraint");

    /** The SDK's words for a named profile that is missing or has no keys. */
    private static final Pattern NO_SUCH_PROFILE = Pattern.compile("no credentials for profile '([^']+)'");

    private AwsFailure() {
    }

    /**
     * The user's view of {@code e}.
     *
     * @param action   the AWS action that failed, as IAM names it ({@code s3:CreateBucket})
     * @param resource what it acted on (a bucket, queue or parameter path)
     * @param region   the region the client was configured for
     * @return an {@link ImgscaleException} for a failure the user can fix, else {@code e} itself
     */
    public static RuntimeException translate(SdkException e, String action, String resource, String region) {
        if (e instanceof AwsServiceException service) {
            return translateService(service, action, resource, region);
        }
        if (e instanceof SdkClientException) {
            String message = String.valueOf(e.getMessage());
            if (message.contains("sso login") || message.contains("SSO session")) {
                return new ImgscaleException("Your AWS SSO session has expired: run `aws sso login` and try again.", e);
            }
            if (message.contains("Unable to load credentials")) {
                Matcher profile = NO_SUCH_PROFILE.matcher(message);
                if (profile.find() && !profile.group(1).equals("default")) {
                    return new ImgscaleException("The AWS profile '" + profile.group(1) + "' has no credentials: check its"
                            + " name (--profile, AWS_PROFILE) against ~/.aws/config, or run `aws configure --profile "
                            + profile.group(1) + "`.", e);
                }
                return new ImgscaleException(NO_CREDENTIALS, e);
            }
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof UnknownHostException) {
                    return new ImgscaleException("Cannot find the host " + t.getMessage() + " for " + action
                            + ": check the region ('" + region + "'; pass --region or set AWS_REGION) and your network.", e);
                }
                if (t instanceof ConnectException) {
                    return new ImgscaleException("Cannot connect to the endpoint for " + action + " (" + t.getMessage()
                            + "): check that it is running and reachable (for the local stack: `imgscale local up`).", e);
                }
            }
        }
        return e;
    }

    private static RuntimeException translateService(AwsServiceException e, String action, String resource, String region) {
        String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
        if (code != null && BAD_CREDENTIALS.contains(code)) {
            return new ImgscaleException("AWS does not accept your credentials (" + code + " on " + action
                    + "): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your profile, run `aws configure`, or use --local.", e);
        }
        if (code != null && EXPIRED.contains(code)) {
            return new ImgscaleException("Your AWS credentials have expired (" + code
                    + "): renew them (for example with `aws sso login`) and try again.", e);
        }
        if ((code != null && WRONG_REGION.contains(code)) || e.statusCode() == 301) {
            String actual = e.awsErrorDetails() == null || e.awsErrorDetails().sdkHttpResponse() == null ? null
                    : e.awsErrorDetails().sdkHttpResponse().firstMatchingHeader("x-amz-bucket-region").orElse(null);
            return new ImgscaleException(resource + " is in " + (actual == null ? "another region" : "region " + actual)
                    + ", not " + region + ": pass --region " + (actual == null ? "with its region" : actual)
                    + ", or choose another stack name with --stack.", e);
        }
        if ((code != null && DENIED.contains(code)) || e.statusCode() == 403) {
            return new ImgscaleException("AWS denied " + action + " on " + resource + " to your identity"
                    + (code == null ? "" : " (" + code + ")")
                    + ": grant it that permission, or run with --profile for an identity that has it.", e);
        }
        if (e.statusCode() >= 400 && e.statusCode() < 500 && e.statusCode() != 429 && !e.isThrottlingException()) {
            String why = e.awsErrorDetails() == null ? e.getMessage() : e.awsErrorDetails().errorMessage();
            return new ImgscaleException(action + " on " + resource + " was refused: " + why
                    + (code == null ? "" : " (" + code + ")") + "; check the name and the configuration.", e);
        }
        return e;
    }
}
