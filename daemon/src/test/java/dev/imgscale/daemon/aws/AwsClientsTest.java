package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.aws.AwsSettings.Service;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.regions.Region;

/** Builds clients without calling anything: no network is touched here. */
class AwsClientsTest {

    private static final AwsSettings SETTINGS = AwsSettings.fromEnvironment(Map.of(
            "AWS_REGION", "eu-west-1",
            "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY", "secret",
            "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000",
            "AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324"));

    @Test
    void each_client_is_built_once_with_the_region_and_its_endpoint() {
        try (AwsClients aws = new AwsClients(SETTINGS)) {
            assertSame(aws.s3(), aws.s3());
            assertSame(aws.sqs(), aws.sqs());
            assertEquals(Region.EU_WEST_1, aws.s3().serviceClientConfiguration().region());
            assertEquals(URI.create("http://127.0.0.1:9000"),
                    aws.s3().serviceClientConfiguration().endpointOverride().orElseThrow());
            assertEquals(URI.create("http://127.0.0.1:9324"),
                    aws.sqs().serviceClientConfiguration().endpointOverride().orElseThrow());
            assertTrue(aws.ec2().serviceClientConfiguration().endpointOverride().isEmpty());
            assertTrue(aws.ssm().serviceClientConfiguration().endpointOverride().isEmpty());
            assertTrue(aws.sts().serviceClientConfiguration().endpointOverride().isEmpty());
            assertEquals(SETTINGS.apiCallTimeout(),
                    aws.sqs().serviceClientConfiguration().overrideConfiguration().apiCallTimeout()
                            .orElseThrow());
        }
    }

    @Test
    void closed_factory_builds_nothing_more() {
        AwsClients aws = new AwsClients(SETTINGS);
        aws.close();
        aws.close(); // idempotent
        assertThrows(IllegalStateException.class, aws::s3);
    }

    @Test
    void endpoint_override_in_settings_reaches_the_client() {
        AwsSettings moved = SETTINGS.withEndpoint(Service.STS, URI.create("http://127.0.0.1:1"));
        try (AwsClients aws = new AwsClients(moved)) {
            assertEquals(URI.create("http://127.0.0.1:1"),
                    aws.sts().serviceClientConfiguration().endpointOverride().orElseThrow());
        }
    }
}
