package dev.imgscale.daemon.cost;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable count of requests by service and operation, with a JSON form
 * ({@code {"v":1,"requests":{"S3":{"PutObject":14},"SQS":{"SendMessageBatch":2}}}}) so that
 * processes can hand their counts to whoever sums them.
 */
public final class RequestCounts {
    public static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final RequestCounts EMPTY = builder().build();

    /** Service and operation as the SDK names them ("S3", "GetObject"). */
    public record Key(String service, String operation) implements Comparable<Key> {
        public Key {
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(operation, "operation");
        }

        @Override
        public int compareTo(Key o) {
            int c = service.compareTo(o.service);
            return c != 0 ? c : operation.compareTo(o.operation);
        }

        @Override
        public String toString() {
            return service + ":" + operation;
        }
    }

    private final SortedMap<Key, Long> counts;

    private RequestCounts(SortedMap<Key, Long> counts) {
        this.counts = Collections.unmodifiableSortedMap(counts);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Counts by key, in service then operation order; no zero entries. */
    public SortedMap<Key, Long> byOperation() {
        return counts;
    }

    public long get(String service, String operation) {
        return counts.getOrDefault(new Key(service, operation), 0L);
    }

    public long total() {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    public RequestCounts plus(RequestCounts other) {
        Builder b = builder();
        counts.forEach(b::add);
        other.counts.forEach(b::add);
        return b.build();
    }

    /** What was sent between {@code earlier} and this snapshot of the same ledger. */
    public RequestCounts minus(RequestCounts earlier) {
        Builder b = builder();
        counts.forEach(b::add);
        earlier.counts.forEach((k, v) -> b.add(k, -v));
        return b.build();
    }

    public String toJson() {
        ObjectNode root = JSON.createObjectNode().put("v", VERSION);
        ObjectNode requests = root.putObject("requests");
        counts.forEach((k, v) -> {
            ObjectNode service = requests.has(k.service()) ? (ObjectNode) requests.get(k.service()) : requests.putObject(k.service());
            service.put(k.operation(), v);
        });
        return root.toString();
    }

    /**
     * Reads {@link #toJson()}'s form.
     *
     * @throws IllegalArgumentException when the text is not that form (or a later version)
     */
    public static RequestCounts fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not request counts: " + e.getMessage(), e);
        }
        if (root == null || root.path("v").asInt(-1) != VERSION || !root.path("requests").isObject()) {
            throw new IllegalArgumentException("not request counts of version " + VERSION + ": " + abbreviate(json));
        }
        Builder b = builder();
        root.get("requests").fields().forEachRemaining(service -> {
            if (!service.getValue().isObject()) {
                throw new IllegalArgumentException("not request counts: service " + service.getKey() + " is not an object");
            }
            service.getValue().fields().forEachRemaining(op -> {
                if (!op.getValue().canConvertToLong() || op.getValue().asLong() < 0) {
                    throw new IllegalArgumentException("not request counts: " + service.getKey() + ":" + op.getKey() + " = " + op.getValue());
                }
                b.add(new Key(service.getKey(), op.getKey()), op.getValue().asLong());
            });
        });
        return b.build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RequestCounts other && counts.equals(other.counts);
    }

    @Override
    public int hashCode() {
        return counts.hashCode();
    }

    @Override
    public String toString() {
        return counts.toString();
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    public static final class Builder {
        private final TreeMap<Key, Long> counts = new TreeMap<>();

        public Builder add(Key key, long n) {
            counts.merge(key, n, Long::sum);
            return this;
        }

        public Builder add(String service, String operation, long n) {
            return add(new Key(service, operation), n);
        }

        public RequestCounts build() {
            TreeMap<Key, Long> copy = new TreeMap<>(counts);
            copy.values().removeIf(v -> v == 0);
            return new RequestCounts(copy);
        }
    }
}
