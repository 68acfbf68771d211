package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import java.util.Set;
import software.amazon.awssdk.awscore.exception.AwsServiceException;

/**
 * EC2's error codes, read for {@link Ec2Fleet}: which ones mean "no capacity here, try elsewhere",
 * and a one-sentence {@link ImgscaleException} for the ones the user can fix (permissions, a missing
 * AMI, subnet, security group or template, an account quota). Both launch paths need it: RunInstances
 * throws its errors, EC2 Fleet {@code instant} returns them per pool in the answer.
 */
final class Ec2Errors {
    /** EC2 has no room for the launch in this pool (type and zone): another pool may have. */
    static final Set<String> NO_CAPACITY = Set.of("InsufficientInstanceCapacity", "InsufficientFreeAddressesInSubnet",
            "InsufficientCapacity", "UnfulfillableCapacity", "InsufficientHostCapacity", "SpotMaxPriceTooLow");
    static final Set<String> QUOTA = Set.of("VcpuLimitExceeded", "InstanceLimitExceeded",
            "MaxSpotInstanceCountExceeded", "MaxFleetCountExceeded", "TargetCapacityLimitExceededException");
    static final Set<String> DENIED = Set.of("UnauthorizedOperation", "AccessDenied", "AccessDeniedException");
    static final Set<String> BAD_CREDENTIALS = Set.of("AuthFailure", "InvalidClientTokenId",
            "SignatureDoesNotMatch", "ExpiredToken", "RequestExpired");
    static final String NOT_FOUND = "InvalidInstanceID.NotFound";

    private final Ec2FleetConfig config;
    private final String region;

    Ec2Errors(Ec2FleetConfig config, String region) {
        this.config = config;
        this.region = region;
    }

    static String code(AwsServiceException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    /** The user-fixable refusal as one sentence, or {@code e} itself when it is not one. */
    RuntimeException translate(AwsServiceException e, String action) {
        String code = code(e);
        String message = e.awsErrorDetails() == null ? e.getMessage() : e.awsErrorDetails().errorMessage();
        if (code == null) {
            return e;
        }
        boolean clientError = e.statusCode() >= 400 && e.statusCode() < 500 && !e.isThrottlingException();
        RuntimeException out = translate(code, message, clientError, action, e);
        return out == null ? e : out;
    }

    /**
     * The same for an error EC2 Fleet reported in its answer (no exception: the call itself succeeded);
     * null when the code is not one the user can fix.
     */
    ImgscaleException translate(String code, String message, boolean clientError, String action, Exception cause) {
        if (code.startsWith("InvalidAMIID.")) {
            return amiNotFound(cause);
        }
        if (DENIED.contains(code)) {
            return new ImgscaleException("AWS denied " + action + " to the controller's identity (" + code + "): grant it"
                    + " that permission and iam:PassRole on the workers' role (examples/iam/), or run with --profile"
                    + " for an identity that has them; `aws sts decode-authorization-message` explains the refusal.", cause);
        }
        if (BAD_CREDENTIALS.contains(code)) {
            return new ImgscaleException("AWS does not accept the controller's credentials (" + code + " on " + action
                    + "): renew them or check AWS_PROFILE, then restart the controller.", cause);
        }
        if (QUOTA.contains(code)) {
            return new ImgscaleException("Your account's EC2 quota in " + region + " does not allow more "
                    + (config.spot() ? "Spot " : "") + "instances (" + code + "): lower the controller's --max, or ask"
                    + " for more in the Service Quotas console (" + (config.spot() ? "All Standard Spot Instance Requests"
                    : "Running On-Demand Standard instances") + ", counted in vCPUs).", cause);
        }
        if (code.startsWith("InvalidSubnetID.") || code.startsWith("InvalidSubnet")) {
            return new ImgscaleException("A subnet in " + Ec2FleetConfig.KEY_SUBNETS + " (" + String.join(",",
                    config.subnets()) + ") does not exist in " + region + ": " + message + "; use subnets of that region.",
                    cause);
        }
        if (code.startsWith("InvalidGroup.") || code.startsWith("InvalidSecurityGroupID.")) {
            return new ImgscaleException("A security group in " + Ec2FleetConfig.KEY_SECURITY_GROUPS + " does not exist in "
                    + region + " or not in the subnets' VPC: " + message + ".", cause);
        }
        if (code.startsWith("InvalidLaunchTemplate")) {
            return new ImgscaleException("The launch template " + config.launchTemplate() + " (version "
                    + config.launchTemplateVersion() + ") was not found in " + region + ": check "
                    + Ec2FleetConfig.KEY_LAUNCH_TEMPLATE + "; launch templates are regional.", cause);
        }
        if (code.startsWith("InvalidKeyPair.")) {
            return new ImgscaleException("The key pair " + config.keyName() + " does not exist in " + region
                    + ": key pairs are regional; import it there or remove " + Ec2FleetConfig.KEY_KEY_NAME + ".", cause);
        }
        if ("OptInRequired".equals(code) || "PendingVerification".equals(code) || "Blocked".equals(code)) {
            return new ImgscaleException("Your account cannot launch instances in " + region + " yet (" + code + "): "
                    + message, cause);
        }
        if (clientError) {
            // e.g. InvalidParameterValue for an instance profile that does not exist, or an AMI of the wrong architecture.
            return new ImgscaleException(action + " was refused in " + region + ": " + message + " (" + code
                    + "); check the " + (config.usesLaunchTemplate() ? "launch template" : "ec2-* settings") + ".", cause);
        }
        return null;
    }

    ImgscaleException amiNotFound(Exception cause) {
        return new ImgscaleException("AMI " + config.ami() + " not found in region " + region
                + ": AMIs are regional, copy it or build it there (packer/), or set " + Ec2FleetConfig.KEY_AMI
                + " to that region's AMI.", cause);
    }
}
