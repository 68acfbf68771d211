package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Objects;

/**
 * The request for one image in any version a worker may meet: version 1 ({@link ImageRequest}:
 * an uploaded image at {@code input/<job>/<name>}) and version 2, which also says where the image
 * is and what the user called it:
 *
 * <pre>
 * {"v":2,"job":"J","name":"N","sentAt":1,"source":"s3://photos/2024/cat.jpg","object":{"bucket":"photos","key":"2024/cat.jpg"}}
 * {"v":2,"job":"J","name":"N","sentAt":1,"source":"/home/me/cat.jpg","shard":{"key":"shards/J/00003.tar","offset":1536,"length":81234}}
 * {"v":2,"job":"J","name":"N","sentAt":1,"source":"/home/me/cat.jpg"}                      (uploaded, as version 1)
 * </pre>
 *
 * <p>An uploaded image is still written as version 1, which workers of the previous release read:
 * only the new kinds need version 2.
 *
 * @param source the image as the user gave it (a local path or an {@code s3://} URL); null in version 1
 */
public record WorkRequest(String job, String name, long sentAt, String source, ImageLocation location) {
    public static final int VERSION = 2;
    private static final ObjectMapper JSON = new ObjectMapper();

    public WorkRequest {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(location, "location");
    }

    /** The message body: version 1 for an uploaded image, version 2 for the others. */
    public String toJson() {
        if (location instanceof ImageLocation.Uploaded && source == null) {
            return Json.write(ImageRequest.of(job, name, sentAt));
        }
        ObjectNode n = JSON.createObjectNode().put("v", VERSION).put("job", job).put("name", name).put("sentAt", sentAt);
        if (source != null) {
            n.put("source", source);
        }
        if (location instanceof ImageLocation.InPlace p) {
            n.putObject("object").put("bucket", p.object().bucket()).put("key", p.object().key());
        } else if (location instanceof ImageLocation.InShard s) {
            n.putObject("shard").put("key", s.shardKey()).put("offset", s.offset()).put("length", s.length());
        }
        return n.toString();
    }

    /**
     * Reads a request of version 1 or 2.
     *
     * @throws Json.MalformedRecordException naming what is wrong (a later version, a missing field)
     */
    public static WorkRequest parse(String body) {
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (IOException e) {
            throw malformed("not JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw malformed("not a JSON object");
        }
        int v = n.path("v").asInt(-1);
        if (v != ImageRequest.VERSION && v != VERSION) {
            throw malformed("request version " + n.path("v") + " (this worker reads versions 1 and 2; upgrade it)");
        }
        String job = text(n, "job");
        String name = text(n, "name");
        if (n.hasNonNull("sentAt") && !n.get("sentAt").canConvertToLong()) {
            throw malformed("sentAt is not a time in epoch milliseconds: " + n.get("sentAt"));
        }
        long sentAt = n.path("sentAt").asLong(0);
        if (v == ImageRequest.VERSION) {
            return new WorkRequest(job, name, sentAt, null, ImageLocation.UPLOADED);
        }
        String source = n.hasNonNull("source") ? n.get("source").asText() : null;
        boolean inPlace = n.hasNonNull("object");
        boolean inShard = n.hasNonNull("shard");
        if (inPlace && inShard) {
            throw malformed("a request names both an object and a shard");
        }
        try {
            ImageLocation location;
            if (inPlace) {
                location = new ImageLocation.InPlace(new ObjectRef(text(n.get("object"), "bucket"), text(n.get("object"), "key")));
            } else if (inShard) {
                JsonNode s = n.get("shard");
                if (!s.path("offset").canConvertToLong() || !s.path("length").canConvertToLong()) {
                    throw malformed("a shard member needs a whole offset and length");
                }
                location = new ImageLocation.InShard(text(s, "key"), s.get("offset").asLong(), s.get("length").asLong());
            } else {
                location = ImageLocation.UPLOADED;
            }
            return new WorkRequest(job, name, sentAt, source, location);
        } catch (IllegalArgumentException e) {
            throw malformed(e.getMessage());
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode f = n.get(field);
        if (f == null || !f.isTextual() || f.asText().isEmpty()) {
            throw malformed("no " + field);
        }
        return f.asText();
    }

    private static Json.MalformedRecordException malformed(String why) {
        return new Json.MalformedRecordException("not a valid image request: " + why, null);
    }
}
