package dev.imgscale.daemon.port;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One bucket of objects (S3 in production, S3 on an embedded S3Proxy locally). Implementations
 * are thread-safe. Keys never end in '/'; listings skip directory markers.
 */
public interface ObjectStore {
    /** The bucket's name, for messages. */
    String name();

    void put(String key, byte[] data, String contentType);

    void put(String key, Path file, String contentType);

    /** The object's bytes, or empty when there is no such object. */
    Optional<byte[]> get(String key);

    /**
     * The object's bytes, or empty when there is no such object; an object over {@code maxBytes} is
     * not read at all (a worker must not load a 5 GB upload into memory to find it too large).
     *
     * @throws ObjectTooLargeException when the object is larger than {@code maxBytes}
     */
    Optional<byte[]> get(String key, long maxBytes);

    /**
     * Bytes {@code [offset, offset + length)} of the object, read with one ranged request, or empty
     * when there is no such object. A range over {@code maxBytes} is not read at all.
     *
     * @throws ObjectTooLargeException when {@code length} is over {@code maxBytes}
     * @throws IllegalArgumentException when the range is negative or empty
     * @throws ObjectRangeException when the object ends before the range does
     */
    default Optional<byte[]> getRange(String key, long offset, long length, long maxBytes) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not read ranges");
    }

    /**
     * A stream that stores what is written to it as the object {@code key} when it is closed,
     * holding at most one part in memory (a multipart upload once it outgrows one part). Until
     * {@link ObjectOutput#close()} returns, nothing is visible under the key; {@link
     * ObjectOutput#abort()} leaves nothing behind.
     */
    default ObjectOutput openWrite(String key, String contentType) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not stream writes");
    }

    boolean exists(String key);

    /** Every key under the prefix, in key order. */
    List<String> list(String prefix);

    /**
     * The keys under the prefix in S3's order, read page by page as the stream is consumed: a
     * listing of millions of keys never sits in memory. Close the stream when done early.
     */
    default Stream<String> keys(String prefix) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not stream listings");
    }

    /** The object's bytes as a stream (close it), or empty when there is no such object. */
    default Optional<InputStream> openRead(String key) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not stream reads");
    }

    /**
     * The store of another bucket reached through the same client (and credentials): how a worker
     * reads images in place from a source bucket. Cheap; callers cache one per bucket.
     */
    default ObjectStore inBucket(String bucket) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not reach other buckets");
    }

    /** Deletes the keys that exist (missing keys are not an error). */
    void delete(Collection<String> keys);
}
