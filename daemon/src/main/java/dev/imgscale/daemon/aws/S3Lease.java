package dev.imgscale.daemon.aws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.daemon.port.ControllerLease;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The lease for controllers of an EC2 fleet: an object in the stack's output bucket naming its
 * holder and when the lease runs out, changed only with S3 conditional writes (If-None-Match to
 * create it, If-Match on the ETag to renew or take over an expired one), so two controllers can
 * never both hold it. A controller that dies stops renewing; another takes over after the TTL.
 */
public final class S3Lease implements ControllerLease {
    public static final String KEY = "fleet/controller-lease.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final S3Client s3;
    private final String bucket;
    private final String owner;
    private final Duration ttl;
    private final Clock clock;
    private boolean held;

    public S3Lease(S3Client s3, String bucket, String owner, Duration ttl, Clock clock) {
        this.s3 = s3;
        this.bucket = bucket;
        this.owner = owner;
        this.ttl = ttl;
        this.clock = clock;
    }

    @Override
    public synchronized boolean acquire() {
        String body = JSON.createObjectNode().put("owner", owner).put("expiresAt", clock.millis() + ttl.toMillis()).toString();
        try {
            ResponseBytes<GetObjectResponse> current;
            try {
                current = s3.getObjectAsBytes(b -> b.bucket(bucket).key(KEY));
            } catch (NoSuchKeyException e) {
                s3.putObject(b -> b.bucket(bucket).key(KEY).ifNoneMatch("*").contentType("application/json"), RequestBody.fromString(body));
                return held = true;
            }
            JsonNode lease = JSON.readTree(current.asByteArray());
            boolean mine = owner.equals(lease.path("owner").asText());
            boolean expired = lease.path("expiresAt").asLong() < clock.millis();
            if (!mine && !expired) {
                return held = false;
            }
            String etag = current.response().eTag();
            s3.putObject(b -> b.bucket(bucket).key(KEY).ifMatch(etag).contentType("application/json"), RequestBody.fromString(body));
            return held = true;
        } catch (S3Exception e) {
            if (e.statusCode() == 412 || e.statusCode() == 409) {
                return held = false; // another controller wrote first
            }
            throw e;
        } catch (IOException e) {
            return held = false;
        }
    }

    @Override
    public synchronized void close() {
        if (held) {
            try {
                s3.deleteObject(b -> b.bucket(bucket).key(KEY));
            } catch (S3Exception e) {
                // it runs out by itself
            }
            held = false;
        }
    }
}
