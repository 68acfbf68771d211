package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.port.ObjectOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * An object written as a stream: bytes collect in one part-sized buffer; an object that stays
 * within one part is stored with one PutObject at close, a larger one as a multipart upload whose
 * parts go out as the buffer fills. Memory is one part whatever the object's size.
 */
final class S3ObjectOutput extends ObjectOutput {
    /**
     * S3's smallest part but the last is 5 MiB; 16 MiB keeps a 64 MB shard to four parts (and one
     * Create and one Complete): half the requests of 8 MiB parts, for 16 MiB of memory per shard
     * being written (`upload` writes at most four at once).
     */
    static final int PART_SIZE = 16 * 1024 * 1024;

    private final S3Client s3;
    private final String bucket;
    private final String key;
    private final String contentType;
    private final int partSize;
    private byte[] buffer;
    private int filled;
    private long written;
    private String uploadId;
    private final List<CompletedPart> parts = new ArrayList<>();
    private boolean done;

    S3ObjectOutput(S3Client s3, String bucket, String key, String contentType, int partSize) {
        this.s3 = s3;
        this.bucket = bucket;
        this.key = key;
        this.contentType = contentType;
        this.partSize = partSize;
        this.buffer = new byte[Math.min(partSize, 64 * 1024)];
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (done) {
            throw new IOException("the object " + key + " is already closed");
        }
        while (len > 0) {
            if (filled == partSize) {
                sendPart();
            }
            if (filled == buffer.length) {
                // grow towards one part only as the object does: small objects stay small in memory
                buffer = Arrays.copyOf(buffer, Math.min(partSize, buffer.length * 2));
            }
            int n = Math.min(len, buffer.length - filled);
            System.arraycopy(b, off, buffer, filled, n);
            filled += n;
            off += n;
            len -= n;
            written += n;
        }
    }

    @Override
    public long written() {
        return written;
    }

    @Override
    public void close() throws IOException {
        if (done) {
            return;
        }
        try {
            if (uploadId == null) {
                s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromBytes(Arrays.copyOf(buffer, filled)));
            } else {
                if (filled > 0) {
                    sendPart();
                }
                s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)
                        .multipartUpload(m -> m.parts(parts)));
            }
            done = true;
            buffer = null;
        } catch (RuntimeException e) {
            abort();
            throw new IOException("cannot store " + key + " in bucket " + bucket + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void abort() {
        if (done) {
            return;
        }
        done = true;
        buffer = null;
        if (uploadId != null) {
            try {
                s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
            } catch (RuntimeException e) {
                // a lifecycle rule (or the next abort) cleans it; the write has failed either way
            }
        }
    }

    private void sendPart() throws IOException {
        try {
            if (uploadId == null) {
                uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(key).contentType(contentType)).uploadId();
            }
            int number = parts.size() + 1;
            String etag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId).partNumber(number),
                    RequestBody.fromBytes(Arrays.copyOf(buffer, filled))).eTag();
            parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
            filled = 0;
        } catch (RuntimeException e) {
            abort();
            throw new IOException("cannot store " + key + " in bucket " + bucket + ": " + e.getMessage(), e);
        }
    }
}
