package dev.imgscale.cli;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * A multipart/form-data request body as browsers and {@code curl -F} send it (part headers in
 * UTF-8, a random boundary), for the tests that post images to {@code imgscale serve}.
 */
record MultipartBody(String boundary, byte[] bytes) {
    /** One file part. */
    static MultipartBody multipart(String field, String fileName, byte[] data) {
        return multipart(List.<Object[]>of(new Object[] {field, fileName, data}));
    }

    /** Parts as {field, fileName or null for a text field, bytes}. */
    static MultipartBody multipart(List<Object[]> parts) {
        String boundary = "----imgscale" + UUID.randomUUID();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object[] p : parts) {
            String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p[0] + "\""
                    + (p[1] == null ? "" : "; filename=\"" + p[1] + "\"\r\nContent-Type: application/octet-stream") + "\r\n\r\n";
            out.writeBytes(head.getBytes(StandardCharsets.UTF_8));
            out.writeBytes((byte[]) p[2]);
            out.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        out.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return new MultipartBody(boundary, out.toByteArray());
    }

    String contentType() {
        return "multipart/form-data; boundary=" + boundary;
    }

    /** The request POSTs this body, with its Content-Type. */
    HttpRequest.Builder into(HttpRequest.Builder request) {
        return request.header("Content-Type", contentType()).POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
    }
}
