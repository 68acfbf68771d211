package dev.imgscale.daemon.worker;

import dev.imgscale.classifier.ImgscaleException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * The EC2 instance id a worker reports under, from the instance metadata service with IMDSv2
 * (a session token first; the fleet launches instances with tokens required). The endpoint
 * honours {@code AWS_EC2_METADATA_SERVICE_ENDPOINT}, as the AWS SDKs do.
 */
public final class InstanceIdentity {
    private InstanceIdentity() {
    }

    public static String fromImds(Map<String, String> env) {
        String base = env.getOrDefault("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254");
        base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        try {
            HttpResponse<String> token = http.send(HttpRequest.newBuilder(URI.create(base + "/latest/api/token"))
                    .timeout(Duration.ofSeconds(3)).header("X-aws-ec2-metadata-token-ttl-seconds", "300")
                    .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            if (token.statusCode() != 200) {
                throw new IOException("token request answered HTTP " + token.statusCode());
            }
            HttpResponse<String> id = http.send(HttpRequest.newBuilder(URI.create(base + "/latest/meta-data/instance-id"))
                    .timeout(Duration.ofSeconds(3)).header("X-aws-ec2-metadata-token", token.body()).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (id.statusCode() != 200 || !id.body().strip().startsWith("i-")) {
                throw new IOException("instance-id answered HTTP " + id.statusCode());
            }
            return id.body().strip();
        } catch (IOException e) {
            throw new ImgscaleException("--worker-id imds needs the EC2 instance metadata service (" + base + "), which did not answer ("
                    + e.getMessage() + "); pass --worker-id ID when not on EC2.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImgscaleException("Interrupted while asking the instance metadata service for the instance id.", e);
        }
    }
}
