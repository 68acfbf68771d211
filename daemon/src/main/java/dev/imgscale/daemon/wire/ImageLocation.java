package dev.imgscale.daemon.wire;

import java.util.Objects;

/** Where a worker reads an image from. */
public sealed interface ImageLocation {
    /** Uploaded as today: {@code input/<job>/<name>} in the stack's input bucket. */
    record Uploaded() implements ImageLocation {
    }

    /** Where it already was: an object in the user's bucket, read in place. */
    record InPlace(ObjectRef object) implements ImageLocation {
        public InPlace {
            Objects.requireNonNull(object, "object");
        }
    }

    /** A member of a tar shard in the input bucket: {@code length} bytes from {@code offset}. */
    record InShard(String shardKey, long offset, long length) implements ImageLocation {
        public InShard {
            if (shardKey == null || shardKey.isEmpty() || offset < 0 || length < 0) {
                throw new IllegalArgumentException("not a shard member: " + shardKey + " at " + offset + "+" + length);
            }
        }
    }

    ImageLocation UPLOADED = new Uploaded();
}
