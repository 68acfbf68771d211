package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.aws.AwsSettings.Service;
import java.net.URI;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.retry.RetryMode;

class AwsSettingsTest {

    @Test
    void empty_environment_means_aws_defaults() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of());
        assertNull(s.region());
        assertNull(s.profile());
        assertEquals(Map.of(), s.endpoints());
        assertNull(s.credentials());
        assertEquals(RetryMode.STANDARD, s.retryMode());
        assertEquals(AwsSettings.DEFAULT_API_CALL_TIMEOUT, s.apiCallTimeout());
        assertEquals(AwsSettings.DEFAULT_API_CALL_ATTEMPT_TIMEOUT, s.apiCallAttemptTimeout());
        assertFalse(s.s3PathStyle());
    }

    @Test
    void generic_endpoint_applies_to_every_service() {
        AwsSettings s =
                AwsSettings.fromEnvironment(Map.of("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"));
        for (Service service : Service.values()) {
            assertEquals(URI.create("http://127.0.0.1:4566"), s.endpoint(service).orElseThrow(),
                    service.name());
        }
    }

    @Test
    void service_endpoint_wins_over_generic_one_for_that_service_only() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_ENDPOINT_URL", "http://127.0.0.1:4566",
                "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000",
                "AWS_ENDPOINT_URL_SQS", "http://localhost:9324"));
        Map<Service, URI> expected = new EnumMap<>(Service.class);
        expected.put(Service.S3, URI.create("http://127.0.0.1:9000"));
        expected.put(Service.SQS, URI.create("http://localhost:9324"));
        expected.put(Service.EC2, URI.create("http://127.0.0.1:4566"));
        expected.put(Service.SSM, URI.create("http://127.0.0.1:4566"));
        expected.put(Service.STS, URI.create("http://127.0.0.1:4566"));
        assertEquals(expected, s.endpoints());
    }

    @Test
    void service_endpoint_alone_leaves_other_services_on_aws() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_ENDPOINT_URL_EC2", "https://ec2.example.test",
                "AWS_ENDPOINT_URL_SSM", "https://ssm.example.test"));
        assertEquals(URI.create("https://ec2.example.test"), s.endpoint(Service.EC2).orElseThrow());
        assertEquals(URI.create("https://ssm.example.test"), s.endpoint(Service.SSM).orElseThrow());
        assertTrue(s.endpoint(Service.S3).isEmpty());
        assertTrue(s.endpoint(Service.SQS).isEmpty());
        assertTrue(s.endpoint(Service.STS).isEmpty());
    }

    @Test
    void ignore_configured_endpoints_switches_all_overrides_off() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_ENDPOINT_URL", "http://127.0.0.1:4566",
                "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000",
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));
        assertEquals(Map.of(), s.endpoints());
    }

    @Test
    void blank_variables_count_as_unset() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_ENDPOINT_URL", "http://127.0.0.1:4566",
                "AWS_ENDPOINT_URL_S3", "  ",
                "AWS_REGION", "",
                "AWS_DEFAULT_REGION", "eu-west-1",
                "AWS_PROFILE", " "));
        assertEquals(URI.create("http://127.0.0.1:4566"), s.endpoint(Service.S3).orElseThrow());
        assertEquals("eu-west-1", s.region());
        assertNull(s.profile());
    }

    @Test
    void aws_region_wins_over_aws_default_region() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_REGION", "eu-central-1", "AWS_DEFAULT_REGION", "us-west-2"));
        assertEquals("eu-central-1", s.region());
    }

    @Test
    void endpoint_that_is_not_an_http_url_is_refused_with_its_variable_name() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AwsSettings.fromEnvironment(Map.of("AWS_ENDPOINT_URL_SQS", "localhost:9324")));
        assertTrue(e.getMessage().contains("AWS_ENDPOINT_URL_SQS"), e.getMessage());
    }

    @Test
    void static_credentials_need_both_halves_and_hide_the_secret() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "s3cr3t",
                "AWS_SESSION_TOKEN", "tok", "AWS_PROFILE", "work"));
        assertEquals(new AwsSettings.StaticCredentials("AKIDEXAMPLE", "s3cr3t", "tok"),
                s.credentials());
        assertEquals("work", s.profile());
        assertFalse(s.toString().contains("s3cr3t"), s.toString());
        assertFalse(s.toString().contains("tok]"), s.toString());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AwsSettings.fromEnvironment(Map.of("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")));
        assertTrue(e.getMessage().contains("AWS_SECRET_ACCESS_KEY"), e.getMessage());
    }

    @Test
    void retry_mode_and_timeouts_come_from_the_environment() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_RETRY_MODE", "Adaptive",
                "IMGSCALE_AWS_API_CALL_TIMEOUT", "PT3M",
                "IMGSCALE_AWS_API_CALL_ATTEMPT_TIMEOUT", "25.5",
                "IMGSCALE_S3_PATH_STYLE", "true"));
        assertEquals(RetryMode.ADAPTIVE_V2, s.retryMode());
        assertEquals(Duration.ofMinutes(3), s.apiCallTimeout());
        assertEquals(Duration.ofMillis(25_500), s.apiCallAttemptTimeout());
        assertTrue(s.s3PathStyle());
        assertEquals(RetryMode.LEGACY,
                AwsSettings.fromEnvironment(Map.of("AWS_RETRY_MODE", "legacy")).retryMode());

        assertThrows(IllegalArgumentException.class,
                () -> AwsSettings.fromEnvironment(Map.of("AWS_RETRY_MODE", "aggressive")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AwsSettings.fromEnvironment(Map.of("IMGSCALE_AWS_API_CALL_TIMEOUT", "2 minutes")));
        assertTrue(e.getMessage().contains("IMGSCALE_AWS_API_CALL_TIMEOUT"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> AwsSettings.fromEnvironment(Map.of("IMGSCALE_AWS_API_CALL_ATTEMPT_TIMEOUT", "0")));
    }

    @Test
    void loopback_means_a_literal_loopback_address_or_localhost() {
        AwsSettings s = AwsSettings.fromEnvironment(Map.of(
                "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000",
                "AWS_ENDPOINT_URL_SQS", "http://[::1]:9324",
                "AWS_ENDPOINT_URL_EC2", "http://localhost:1234",
                "AWS_ENDPOINT_URL_SSM", "https://ssm.us-east-1.amazonaws.com"));
        assertTrue(s.isLoopback(Service.S3));
        assertTrue(s.isLoopback(Service.SQS));
        assertTrue(s.isLoopback(Service.EC2));
        assertFalse(s.isLoopback(Service.SSM));
        assertFalse(s.isLoopback(Service.STS), "no override is not loopback");
    }
}
