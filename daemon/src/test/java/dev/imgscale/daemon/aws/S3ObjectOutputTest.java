package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * Which requests a streamed object costs: the S3 client records each request and the bytes it
 * carries (a real S3 is exercised by ShardUploadIT and S3ObjectStoreIT through the same class).
 */
class S3ObjectOutputTest {
    private static final int PART = 1024;

    @Test
    void should_store_an_object_of_one_part_with_one_put_object() throws IOException {
        Recording s3 = new Recording();
        byte[] data = bytes(PART - 1);
        write(s3, data, 4 * PART);
        assertEquals(List.of("PutObject " + (PART - 1)), s3.calls);
        assertArrayEquals(data, s3.stored.toByteArray());
    }

    @Test
    void should_store_an_object_of_several_parts_within_the_limit_with_one_put_object() throws IOException {
        Recording s3 = new Recording();
        byte[] data = bytes(3 * PART + 17);
        write(s3, data, 4 * PART);
        assertEquals(List.of("PutObject " + data.length), s3.calls);
        assertArrayEquals(data, s3.stored.toByteArray());
    }

    @Test
    void should_store_an_object_past_the_limit_as_whole_parts_in_order() throws IOException {
        Recording s3 = new Recording();
        byte[] data = bytes(6 * PART + 100);
        write(s3, data, 2 * PART);
        assertEquals(List.of("CreateMultipartUpload", "UploadPart 1 " + PART, "UploadPart 2 " + PART, "UploadPart 3 " + PART,
                "UploadPart 4 " + PART, "UploadPart 5 " + PART, "UploadPart 6 " + PART, "UploadPart 7 100",
                "CompleteMultipartUpload 7"), s3.calls);
        assertArrayEquals(data, s3.stored.toByteArray());
    }

    @Test
    void should_abort_the_multipart_upload_when_a_part_fails_and_say_which_object() {
        Recording s3 = new Recording();
        s3.failPart = 4;
        IOException e = assertThrows(IOException.class, () -> write(s3, bytes(6 * PART), 2 * PART));
        assertTrue(e.getMessage().startsWith("cannot store shards/j/00000.tar in bucket in: "), e.getMessage());
        assertEquals("AbortMultipartUpload", s3.calls.get(s3.calls.size() - 1));
    }

    private static void write(S3Client s3, byte[] data, long limit) throws IOException {
        try (S3ObjectOutput out = new S3ObjectOutput(s3, "in", "shards/j/00000.tar", "application/x-tar", PART, limit)) {
            // in uneven pieces, as a tar writer writes headers and files
            int off = 0;
            int step = 1;
            while (off < data.length) {
                int n = Math.min(step, data.length - off);
                out.write(data, off, n);
                off += n;
                step = step * 3 % 997 + 1;
            }
            assertEquals(data.length, out.written());
        }
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    /** The calls S3ObjectOutput makes, with the bytes they carry in order. */
    private static final class Recording implements S3Client {
        final List<String> calls = new ArrayList<>();
        final ByteArrayOutputStream stored = new ByteArrayOutputStream();
        int failPart = -1;

        @Override
        public PutObjectResponse putObject(PutObjectRequest request, RequestBody body) {
            calls.add("PutObject " + keep(body));
            return PutObjectResponse.builder().build();
        }

        @Override
        public CreateMultipartUploadResponse createMultipartUpload(CreateMultipartUploadRequest request) {
            calls.add("CreateMultipartUpload");
            return CreateMultipartUploadResponse.builder().uploadId("u1").build();
        }

        @Override
        public UploadPartResponse uploadPart(UploadPartRequest request, RequestBody body) {
            if (request.partNumber() == failPart) {
                throw new IllegalStateException("connection reset");
            }
            calls.add("UploadPart " + request.partNumber() + " " + keep(body));
            return UploadPartResponse.builder().eTag("e" + request.partNumber()).build();
        }

        @Override
        public CompleteMultipartUploadResponse completeMultipartUpload(CompleteMultipartUploadRequest request) {
            calls.add("CompleteMultipartUpload " + request.multipartUpload().parts().size());
            return CompleteMultipartUploadResponse.builder().build();
        }

        @Override
        public AbortMultipartUploadResponse abortMultipartUpload(AbortMultipartUploadRequest request) {
            calls.add("AbortMultipartUpload");
            return AbortMultipartUploadResponse.builder().build();
        }

        private long keep(RequestBody body) {
            try (InputStream in = body.contentStreamProvider().newStream()) {
                byte[] b = in.readAllBytes();
                stored.writeBytes(b);
                return b.length;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public String serviceName() {
            return "s3";
        }

        @Override
        public void close() {
        }
    }
}
