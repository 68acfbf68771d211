package dev.imgscale.daemon.worker.stage;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.JobId;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.WorkRequest;

/**
 * Reads a request body: a pure function. A request whose job and image name make safe keys but
 * whose rest cannot be read gets a MALFORMED result (so it is not retried forever); a body that
 * names no usable job and image is not an imgscale request, and is left for the dead-letter queue.
 */
public final class RequestParser {
    private RequestParser() {
    }

    /** What a body is. */
    public sealed interface Parsed permits Valid, Malformed, Foreign {
    }

    /** A request this worker reads. */
    public record Valid(WorkRequest request) implements Parsed {
    }

    /** A request of a known job and image that cannot be read otherwise: answered with a MALFORMED result. */
    public record Malformed(String job, String name, String reason) implements Parsed {
    }

    /** Not an imgscale request (or one whose keys would leave its job's prefix): left to be dead-lettered. */
    public record Foreign(String reason) implements Parsed {
    }

    public static Parsed parse(String body) {
        try {
            // versions 1 and 2: an image uploaded, in a shard, or in place in a source bucket
            WorkRequest r = WorkRequest.parse(body);
            if (!safeJobAndName(r.job(), r.name())) {
                return malformed(body, "job '" + r.job() + "' or image name '" + r.name() + "' cannot be used in a key");
            }
            return new Valid(r);
        } catch (RuntimeException e) {
            return malformed(body, e.getMessage());
        }
    }

    /** A result for the request if its job and name can still be read, else leave it to be dead-lettered. */
    private static Parsed malformed(String body, String reason) {
        String job = null;
        String name = null;
        try {
            JsonNode node = Json.read(body, JsonNode.class);
            job = node.path("job").isTextual() ? node.get("job").asText() : null;
            name = node.path("name").isTextual() ? node.get("name").asText() : null;
        } catch (RuntimeException e) {
            // not JSON at all
        }
        return safeJobAndName(job, name) ? new Malformed(job, name, reason) : new Foreign(reason);
    }

    /** Whether the pair makes keys that stay inside the job's prefix, as the uploader's names do. */
    static boolean safeJobAndName(String job, String name) {
        return JobId.valid(job) && name != null && !name.isEmpty() && ImageNames.sanitise(name).equals(name);
    }
}
