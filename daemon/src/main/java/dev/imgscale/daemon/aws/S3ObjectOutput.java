package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.port.ObjectOutput;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * An object written as a stream: bytes collect in one part-sized buffer; an object that stays
 * within one part is stored with one PutObject at close. A larger one goes on to a temporary file,
 * a part at a time, and is stored with one PutObject of the file at close while it stays within
 * {@link #SINGLE_PUT_LIMIT}; past that it becomes a multipart upload (the file's parts first, then
 * the rest as the buffer fills). Memory is one part whatever the object's size.
 */
final class S3ObjectOutput extends ObjectOutput {
    /**
     * S3's smallest part but the last is 5 MiB; 16 MiB keeps the memory of a shard being written
     * (`upload` writes at most four at once) to 16 MiB.
     */
    static final int PART_SIZE = 16 * 1024 * 1024;

    /**
     * Objects up to this size are one PutObject (from the temporary file), not a Create, parts and
     * a Complete: a 64 MB shard of 16 MiB parts was six PUT-class requests, $0.24 per million images
     * of 520 KB; one PutObject is $0.04. Twice the largest shard `upload` plans, so that only a
     * single file of its own shard over 128 MiB goes multipart (S3's PutObject takes 5 GB).
     */
    static final long SINGLE_PUT_LIMIT = 128L * 1024 * 1024;

    private final S3Client s3;
    private final String bucket;
    private final String key;
    private final String contentType;
    private final int partSize;
    private final long singlePutLimit;
    private byte[] buffer;
    private int filled;
    private long written;
    private Path spill;
    private OutputStream spillOut;
    private String uploadId;
    private final List<CompletedPart> parts = new ArrayList<>();
    private boolean done;

    S3ObjectOutput(S3Client s3, String bucket, String key, String contentType, int partSize) {
        this(s3, bucket, key, contentType, partSize, SINGLE_PUT_LIMIT);
    }

    S3ObjectOutput(S3Client s3, String bucket, String key, String contentType, int partSize, long singlePutLimit) {
        this.s3 = s3;
        this.bucket = bucket;
        this.key = key;
        this.contentType = contentType;
        this.partSize = partSize;
        this.singlePutLimit = singlePutLimit;
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
                // a full part and more to come
                if (uploadId == null && written < singlePutLimit) {
                    spillBuffer();
                } else if (uploadId == null && spill != null) {
                    spillBuffer();
                    sendSpill();
                } else {
                    sendPart();
                }
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
            if (uploadId == null && spill == null) {
                s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromBytes(Arrays.copyOf(buffer, filled)));
            } else if (uploadId == null) {
                spillBuffer();
                spillOut.close();
                s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromFile(spill));
            } else {
                if (filled > 0) {
                    sendPart();
                }
                s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)
                        .multipartUpload(m -> m.parts(parts)));
            }
            done = true;
            buffer = null;
            dropSpill();
        } catch (RuntimeException | IOException e) {
            abort();
            throw new IOException("cannot store " + key + " in bucket " + bucket + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void abort() {
        if (done && spill == null) {
            return;
        }
        done = true;
        buffer = null;
        dropSpill();
        if (uploadId != null) {
            try {
                s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
            } catch (RuntimeException e) {
                // a lifecycle rule (or the next abort) cleans it; the write has failed either way
            }
        }
    }

    private void spillBuffer() throws IOException {
        try {
            if (spill == null) {
                spill = Files.createTempFile("imgscale-object-", ".part");
                spillOut = Files.newOutputStream(spill);
            }
            spillOut.write(buffer, 0, filled);
            filled = 0;
        } catch (IOException e) {
            abort();
            throw new IOException("cannot store " + key + " in bucket " + bucket + ": cannot write a temporary file: " + e.getMessage(), e);
        }
    }

    /**
     * Past the single PutObject's size: the file (whole parts only, as it is written a full buffer
     * at a time) goes out as the multipart upload's first parts.
     */
    private void sendSpill() throws IOException {
        try (InputStream in = Files.newInputStream(spill)) {
            spillOut.close();
            int n;
            while ((n = in.readNBytes(buffer, 0, partSize)) > 0) {
                filled = n;
                sendPart();
            }
        } catch (IOException e) {
            abort();
            throw new IOException("cannot store " + key + " in bucket " + bucket + ": cannot read a temporary file: " + e.getMessage(), e);
        }
        dropSpill();
    }

    private void dropSpill() {
        if (spill == null) {
            return;
        }
        try {
            spillOut.close();
            Files.deleteIfExists(spill);
        } catch (IOException e) {
            // a temporary file left behind is the system's to clean; the object is stored or not either way
        }
        spill = null;
        spillOut = null;
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
