package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.aws.AwsFailure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;

/** {@link AccountInfo} through the SDK's real STS client against {@link FakeAwsEndpoint}, and {@link AwsFailure}. */
class AccountInfoTest {

    /** What SDK 2.40's default chain says when it finds nothing (measured, trimmed). */
    private static final String SDK_NO_CREDENTIALS = "Unable to load credentials from any of the providers in the chain"
            + " AwsCredentialsProviderChain(credentialsProviders=[SystemPropertyCredentialsProvider(), ...]) :"
            + " [ProfileCredentialsProvider(profileName=%s, profileFile=ProfileFile(sections=[])): Profile file"
            + " contained no credentials for profile '%s': ProfileFile(sections=[]), InstanceProfileCredentialsProvider():"
            + " IMDS credentials have been disabled by environment variable or system property.]";

    @Test
    void should_make_the_bucket_suffix_from_account_and_region() throws Exception {
        try (FakeAwsEndpoint sts = new FakeAwsEndpoint(); AwsClients clients = new AwsClients(sts.settings())) {
            AccountInfo info = AccountInfo.lookUp(clients.sts(), "eu-west-1");

            assertEquals("123456789012", info.accountId(), sts.transcript());
            assertEquals("arn:aws:iam::123456789012:user/test", info.arn());
            assertEquals("123456789012-eu-west-1", info.bucketSuffix());
            assertEquals("123456789012-us-east-1", AccountInfo.bucketSuffix(clients.sts(), "us-east-1"));
            assertEquals(2, sts.calls("GetCallerIdentity").size(), sts.transcript());
        }
    }

    @Test
    void should_say_how_to_fix_credentials_aws_rejects() throws Exception {
        try (FakeAwsEndpoint sts = new FakeAwsEndpoint(); AwsClients clients = new AwsClients(sts.settings())) {
            sts.stsError = "InvalidClientTokenId";

            ImgscaleException e = assertThrows(ImgscaleException.class, () -> AccountInfo.lookUp(clients.sts(), "us-east-1"));

            assertTrue(e.getMessage().startsWith("AWS does not accept your credentials (InvalidClientTokenId"), e.getMessage());
            assertTrue(e.getMessage().contains("aws configure"), e.getMessage());
        }
    }

    @Test
    void should_say_no_credentials_found_when_the_chain_finds_none() {
        SdkClientException sdk = SdkClientException.create(String.format(SDK_NO_CREDENTIALS, "default", "default"));

        RuntimeException e = AwsFailure.translate(sdk, "sts:GetCallerIdentity", "your AWS identity", "us-east-1");

        assertEquals(ImgscaleException.class, e.getClass());
        assertEquals("No AWS credentials found: run `aws configure`, set AWS_PROFILE, or use --local.", e.getMessage());
    }

    @Test
    void should_name_a_profile_that_has_no_credentials() {
        SdkClientException sdk = SdkClientException.create(String.format(SDK_NO_CREDENTIALS, "work", "work"));

        RuntimeException e = AwsFailure.translate(sdk, "sts:GetCallerIdentity", "your AWS identity", "us-east-1");

        assertTrue(e.getMessage().startsWith("The AWS profile 'work' has no credentials"), e.getMessage());
    }

    @Test
    void should_point_at_the_endpoint_when_nothing_listens() {
        SdkClientException sdk = SdkClientException.create("Unable to execute HTTP request: Connect to 127.0.0.1:9 failed",
                new ConnectException("Connection refused"));

        RuntimeException e = AwsFailure.translate(sdk, "sqs:GetQueueUrl", "queue q", "us-east-1");

        assertTrue(e instanceof ImgscaleException && e.getMessage().contains("imgscale local up"), e.getMessage());
    }

    @Test
    void should_leave_unknown_failures_alone() {
        SdkClientException sdk = SdkClientException.create("something else");

        assertSame(sdk, AwsFailure.translate(sdk, "s3:CreateBucket", "bucket b", "us-east-1"));
    }
}
