package dev.imgscale.daemon.shard;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads shard members with as few requests as it can: members of one shard whose data lie close
 * together (a gap of at most {@code maxGap} bytes) are fetched with one ranged GET of at most
 * {@code maxSpan} bytes and cut apart. A member over {@code maxMemberBytes} is not read (as the
 * worker refuses an oversized upload); a shard that is missing or shorter than a member says so
 * for those members, and the others are still read.
 */
public final class ShardReader {
    /** One member's bytes, or why there are none. */
    public record Fetched(ShardMember member, byte[] bytes, RuntimeException error) {
        public boolean ok() {
            return error == null;
        }
    }

    /** One ranged read: {@code [offset, end)} of a shard, covering {@code members}. */
    record Span(String shardKey, long offset, long end, List<ShardMember> members) {
    }

    private final ObjectStore store;
    private final long maxGap;
    private final long maxSpan;
    private final long maxMemberBytes;

    public ShardReader(ObjectStore store, long maxGap, long maxSpan, long maxMemberBytes) {
        this.store = Objects.requireNonNull(store, "store");
        if (maxGap < 0 || maxSpan < 1 || maxMemberBytes < 1) {
            throw new IllegalArgumentException("gap " + maxGap + ", span " + maxSpan + ", member " + maxMemberBytes);
        }
        this.maxGap = maxGap;
        this.maxSpan = Math.max(maxSpan, maxMemberBytes); // a span can always hold one member
        this.maxMemberBytes = maxMemberBytes;
    }

    /** Every member's bytes (or error), in the order given. */
    public List<Fetched> read(List<ShardMember> members) {
        Map<ShardMember, Fetched> results = new IdentityHashMap<>();
        List<ShardMember> readable = new ArrayList<>();
        for (ShardMember m : members) {
            if (m.length() > maxMemberBytes) {
                results.put(m, new Fetched(m, null, new ObjectTooLargeException(m.name() + " in " + m.shardKey(), m.length(), maxMemberBytes)));
            } else {
                readable.add(m);
            }
        }
        for (Span span : plan(readable, maxGap, maxSpan)) {
            fetch(span, results);
        }
        List<Fetched> out = new ArrayList<>(members.size());
        for (ShardMember m : members) {
            out.add(results.get(m));
        }
        return out;
    }

    /** The ranged reads that cover the members: by shard, in offset order, neighbours together. */
    static List<Span> plan(List<ShardMember> members, long maxGap, long maxSpan) {
        Map<String, List<ShardMember>> byShard = new LinkedHashMap<>();
        for (ShardMember m : members) {
            byShard.computeIfAbsent(m.shardKey(), k -> new ArrayList<>()).add(m);
        }
        List<Span> spans = new ArrayList<>();
        for (Map.Entry<String, List<ShardMember>> e : byShard.entrySet()) {
            List<ShardMember> sorted = new ArrayList<>(e.getValue());
            sorted.sort(Comparator.comparingLong(ShardMember::offset));
            List<ShardMember> current = new ArrayList<>();
            long start = 0;
            long end = 0;
            for (ShardMember m : sorted) {
                boolean joins = !current.isEmpty() && m.offset() - end <= maxGap && Math.max(end, m.end()) - start <= maxSpan;
                if (!current.isEmpty() && !joins) {
                    spans.add(new Span(e.getKey(), start, end, current));
                    current = new ArrayList<>();
                }
                if (current.isEmpty()) {
                    start = m.offset();
                    end = m.end();
                }
                current.add(m);
                end = Math.max(end, m.end());
            }
            if (!current.isEmpty()) {
                spans.add(new Span(e.getKey(), start, end, current));
            }
        }
        return spans;
    }

    private void fetch(Span span, Map<ShardMember, Fetched> results) {
        long length = span.end() - span.offset();
        if (length == 0) {
            span.members().forEach(m -> results.put(m, new Fetched(m, new byte[0], null)));
            return;
        }
        Optional<byte[]> bytes;
        try {
            bytes = store.getRange(span.shardKey(), span.offset(), length, maxSpan);
        } catch (RuntimeException e) {
            span.members().forEach(m -> results.put(m, new Fetched(m, null, e)));
            return;
        }
        if (bytes.isEmpty()) {
            ImgscaleException missing = new ImgscaleException("The shard " + span.shardKey() + " is not in bucket " + store.name() + ".");
            span.members().forEach(m -> results.put(m, new Fetched(m, null, missing)));
            return;
        }
        byte[] all = bytes.get();
        for (ShardMember m : span.members()) {
            int from = (int) (m.offset() - span.offset());
            results.put(m, new Fetched(m, Arrays.copyOfRange(all, from, from + (int) m.length()), null));
        }
    }
}
