package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.aws.AwsFailure;
import dev.imgscale.classifier.ImgscaleException;
import java.util.Locale;
import java.util.Objects;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;

/**
 * Who the AWS credentials belong to, from STS GetCallerIdentity (a call that needs no permission).
 * Bucket names are global across every AWS account, so a stack's default bucket names end in
 * {@link #bucketSuffix()}, {@code <account>-<region>}: two accounts, or two regions of one account,
 * never fight over a name.
 *
 * @param accountId the 12-digit AWS account id
 * @param arn       the caller's ARN (user, role or assumed-role session)
 * @param region    the region the stack lives in
 */
public record AccountInfo(String accountId, String arn, String region) {

    public AccountInfo {
        Objects.requireNonNull(accountId, "accountId");
        Objects.requireNonNull(region, "region");
    }

    /**
     * Asks STS who the caller is.
     *
     * @throws ImgscaleException with one sentence saying how to fix it when there are no
     *     credentials, they are invalid or expired, or STS cannot be reached
     */
    public static AccountInfo lookUp(StsClient sts, String region) {
        GetCallerIdentityResponse identity;
        try {
            identity = sts.getCallerIdentity();
        } catch (SdkException e) {
            throw AwsFailure.translate(e, "sts:GetCallerIdentity", "your AWS identity", region);
        }
        if (identity.account() == null || identity.account().isBlank()) {
            throw new ImgscaleException("STS did not say which AWS account your credentials belong to;"
                    + " set input-bucket and output-bucket explicitly, or use --local.");
        }
        return new AccountInfo(identity.account(), identity.arn(), region);
    }

    /** {@code <account>-<region>}, the suffix of the stack's default bucket names. */
    public static String bucketSuffix(StsClient sts, String region) {
        return lookUp(sts, region).bucketSuffix();
    }

    /** {@code <account>-<region>}, e.g. {@code 123456789012-eu-west-1}. */
    public String bucketSuffix() {
        return (accountId + "-" + region).toLowerCase(Locale.ROOT);
    }
}
