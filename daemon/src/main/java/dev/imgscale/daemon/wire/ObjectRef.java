package dev.imgscale.daemon.wire;

import java.util.Objects;

/** One object in some bucket, as a user names it with {@code s3://bucket/key}. */
public record ObjectRef(String bucket, String key) {
    public ObjectRef {
        S3Url.checkBucket(Objects.requireNonNull(bucket, "bucket"));
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("an object needs a key: s3://" + bucket + "/");
        }
    }

    @Override
    public String toString() {
        return S3Url.PREFIX + bucket + "/" + key;
    }
}
