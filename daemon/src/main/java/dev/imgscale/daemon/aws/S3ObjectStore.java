package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.port.ObjectOutput;
import dev.imgscale.daemon.port.ObjectRangeException;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.ObjectStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Iterator;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link ObjectStore} over one S3 bucket, through the shared {@link S3Client} from
 * {@link AwsClients}. Transient failures (throttling, 5xx, connection resets) are retried by the
 * client's retry mode, so nothing here loops; what still fails is thrown as the SDK's exception,
 * except a missing bucket, which becomes one sentence saying how to create it.
 */
@ThreadSafe
public final class S3ObjectStore implements ObjectStore {
    /** DeleteObjects takes at most this many keys per call. */
    static final int DELETE_BATCH = 1000;

    private final S3Client s3;
    private final String bucket;

    private final int partSize;
    private final long singlePutLimit;

    public S3ObjectStore(S3Client s3, String bucket) {
        this(s3, bucket, S3ObjectOutput.PART_SIZE);
    }

    /** With another multipart part size for {@link #openWrite} (at least 5 MiB, on S3 and on the local stack). */
    public S3ObjectStore(S3Client s3, String bucket, int partSize) {
        this(s3, bucket, partSize, S3ObjectOutput.SINGLE_PUT_LIMIT);
    }

    /**
     * And the size up to which {@link #openWrite} stores an object with one PutObject (kept in a
     * temporary file past one part) rather than as a multipart upload.
     */
    public S3ObjectStore(S3Client s3, String bucket, int partSize, long singlePutLimit) {
        this.s3 = Objects.requireNonNull(s3, "s3");
        this.bucket = Objects.requireNonNull(bucket, "bucket");
        if (partSize < 1) {
            throw new IllegalArgumentException("part size must be positive: " + partSize);
        }
        this.partSize = partSize;
        this.singlePutLimit = singlePutLimit;
    }

    @Override
    public ObjectStore inBucket(String other) {
        return new S3ObjectStore(s3, other, partSize, singlePutLimit);
    }

    @Override
    public String name() {
        return bucket;
    }

    @Override
    public void put(String key, byte[] data, String contentType) {
        checkKey(key);
        try {
            s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromBytes(data));
        } catch (NoSuchBucketException e) {
            throw missingBucket(e);
        }
    }

    @Override
    public void put(String key, Path file, String contentType) {
        checkKey(key);
        try {
            s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromFile(file));
        } catch (NoSuchBucketException e) {
            throw missingBucket(e);
        }
    }

    @Override
    public Optional<byte[]> get(String key) {
        try {
            return Optional.of(s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (NoSuchBucketException e) {
            throw missingBucket(e);
        }
    }

    @Override
    public Optional<byte[]> get(String key, long maxBytes) {
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket).key(key))) {
            Long length = in.response().contentLength();
            if (length != null && length > maxBytes) {
                in.abort(); // do not drain the rest of a huge body just to close the connection politely
                throw new ObjectTooLargeException(key, length, maxBytes);
            }
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (bytes.length > maxBytes) {
                in.abort();
                throw new ObjectTooLargeException(key, bytes.length, maxBytes);
            }
            return Optional.of(bytes);
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (NoSuchBucketException e) {
            throw missingBucket(e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + key + " from bucket " + bucket, e);
        }
    }

    @Override
    public Optional<byte[]> getRange(String key, long offset, long length, long maxBytes) {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("not a byte range of " + key + ": offset " + offset + ", length " + length);
        }
        if (length > maxBytes) {
            throw new ObjectTooLargeException(key + " at " + offset, length, maxBytes);
        }
        String range = "bytes=" + offset + "-" + (offset + length - 1);
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket).key(key).range(range))) {
            byte[] bytes = in.readNBytes((int) length);
            if (bytes.length < length) {
                throw new ObjectRangeException(key + " in bucket " + bucket + " ends before bytes " + offset + "-" + (offset + length - 1)
                        + " (" + bytes.length + " of " + length + " bytes there)");
            }
            return Optional.of(bytes);
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (NoSuchBucketException e) {
            throw missingBucket(e);
        } catch (S3Exception e) {
            if (e.statusCode() == 416) {
                throw new ObjectRangeException(key + " in bucket " + bucket + " ends before byte " + offset);
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + key + " from bucket " + bucket, e);
        }
    }

    @Override
    public ObjectOutput openWrite(String key, String contentType) {
        checkKey(key);
        return new S3ObjectOutput(s3, bucket, key, contentType, partSize, singlePutLimit);
    }

    @Override
    public boolean exists(String key) {
        try {
            s3.headObject(b -> b.bucket(bucket).key(key));
            return true;
        } catch (S3Exception e) {
            // A HEAD response has no body, so the SDK reads every 404 as NoSuchKey, a missing
            // bucket included: ask once more so that a missing stack is not taken for "no".
            if (e.statusCode() == 404) {
                if (!bucketExists()) {
                    throw missingBucket(e);
                }
                return false;
            }
            throw e;
        }
    }

    @Override
    public List<String> list(String prefix) {
        List<String> keys = new ArrayList<>();
        try {
            for (S3Object object : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
                // Console "folders" and S3Proxy's directory entries are not objects of ours.
                if (!Keys.isFolderMarker(object.key())) {
                    keys.add(object.key());
                }
            }
        } catch (NoSuchBucketException e) {
            throw missingBucket(e);
        }
        // S3 lists in UTF-8 byte order already; sorting again makes the look-alikes agree with it
        // (for the keys imgscale writes, String order and byte order coincide outside surrogates).
        keys.sort(null);
        return keys;
    }

    @Override
    public Stream<String> keys(String prefix) {
        // the paginator fetches the next page only when the stream reaches it
        Iterator<String> keys = new Iterator<>() {
            private Iterator<S3Object> pages;

            @Override
            public boolean hasNext() {
                try {
                    if (pages == null) {
                        pages = s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().iterator();
                    }
                    return pages.hasNext();
                } catch (NoSuchBucketException e) {
                    // a source bucket is the user's, not the stack's: no advice to run init
                    throw new ImgscaleException("The bucket " + bucket + " does not exist (or is in another account or region).", e);
                }
            }

            @Override
            public String next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return pages.next().key();
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(keys, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .filter(k -> !Keys.isFolderMarker(k));
    }

    @Override
    public Optional<InputStream> openRead(String key) {
        try {
            return Optional.of(s3.getObject(b -> b.bucket(bucket).key(key)));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (NoSuchBucketException e) {
            throw missingBucket(e);
        }
    }

    @Override
    public void delete(Collection<String> keys) {
        List<String> unique = new ArrayList<>(new LinkedHashSet<>(keys));
        List<String> failures = new ArrayList<>();
        for (int start = 0; start < unique.size(); start += DELETE_BATCH) {
            List<ObjectIdentifier> ids = new ArrayList<>();
            for (String key : unique.subList(start, Math.min(unique.size(), start + DELETE_BATCH))) {
                ids.add(ObjectIdentifier.builder().key(key).build());
            }
            DeleteObjectsResponse response;
            try {
                response = s3.deleteObjects(b -> b.bucket(bucket).delete(Delete.builder().objects(ids).quiet(true).build()));
            } catch (NoSuchBucketException e) {
                throw missingBucket(e);
            }
            for (S3Error error : response.errors()) {
                // S3 reports a missing key as deleted, so any error here is real (AccessDenied...).
                failures.add(error.key() + " (" + error.code() + ": " + error.message() + ")");
            }
        }
        if (!failures.isEmpty()) {
            throw new ImgscaleException("Could not delete " + failures.size() + " object(s) from bucket " + bucket
                    + ", for example " + failures.get(0) + ".");
        }
    }

    @Override
    public String toString() {
        return "S3ObjectStore[" + bucket + "]";
    }

    private boolean bucketExists() {
        try {
            s3.headBucket(b -> b.bucket(bucket));
            return true;
        } catch (NoSuchBucketException e) {
            return false;
        } catch (S3Exception e) {
            return e.statusCode() != 404;
        }
    }

    private ImgscaleException missingBucket(Exception cause) {
        return new ImgscaleException("The bucket " + bucket + " does not exist; run `imgscale init` (or `imgscale local up`) first.",
                cause);
    }

    private static void checkKey(String key) {
        // A key ending in '/' would be indistinguishable from the folders the local stack lists.
        if (key == null || key.isEmpty() || key.endsWith("/")) {
            throw new IllegalArgumentException("not an object key: '" + key + "'");
        }
    }
}
