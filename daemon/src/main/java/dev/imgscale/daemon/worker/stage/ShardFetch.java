package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.daemon.port.ObjectRangeException;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.ObjectTooLargeException;
import dev.imgscale.daemon.shard.ShardMember;
import dev.imgscale.daemon.shard.ShardReader;
import dev.imgscale.daemon.wire.ImageLocation;
import java.util.ArrayList;
import java.util.List;

/**
 * The shard members of a batch, read together: the requests of one upload arrive in shard order,
 * so a batch of ten is usually ten neighbours in one shard, read with one ranged GET
 * ({@link ShardReader}) instead of ten. What goes wrong stays with the image it concerns: a member
 * over the size limit is TOO_LARGE (unread), a missing shard or a range past its end is MISSING,
 * and a failed read leaves the requests of that span to come back. A corrupt member is just bytes
 * here; the decoder gives it its error row, and its neighbours are classified.
 */
final class ShardFetch {
    /**
     * Neighbours further apart than this are read separately: within one upload's shard the gap
     * between two members is a tar header (512 to 1,536 bytes), so 1 MiB joins every member of a
     * batch sent in order while never reading much that nobody asked for.
     */
    static final long MAX_GAP = 1024 * 1024;
    /** The most one GET reads: ten members of a 64 MB shard, large images included, without holding a whole shard. */
    static final long MAX_SPAN = 32L * 1024 * 1024;

    private final ShardReader reader;

    /** {@code input}: the bucket of the shards; a member over {@code maxImageBytes} is not read. */
    ShardFetch(ObjectStore input, long maxImageBytes) {
        this.reader = new ShardReader(input, MAX_GAP, MAX_SPAN, maxImageBytes);
    }

    /** Fetches every pending item whose image is in a shard; the others are left untouched. */
    void fetch(List<Item> items) {
        List<Item> inShard = new ArrayList<>();
        List<ShardMember> members = new ArrayList<>();
        for (Item item : items) {
            if (item.pending() && item.request != null && item.request.location() instanceof ImageLocation.InShard s) {
                inShard.add(item);
                members.add(new ShardMember(s.shardKey(), item.name, s.offset(), s.length()));
            }
        }
        if (members.isEmpty()) {
            return;
        }
        List<ShardReader.Fetched> fetched = reader.read(members);
        for (int i = 0; i < inShard.size(); i++) {
            ShardReader.Fetched f = fetched.get(i);
            if (f.error() instanceof ObjectRangeException) {
                // the span ran past the shard's end: only the member that does is wrong, so read each alone
                f = alone(f.member());
            }
            apply(inShard.get(i), f);
        }
    }

    private ShardReader.Fetched alone(ShardMember m) {
        return reader.read(List.of(m)).get(0);
    }

    private static void apply(Item item, ShardReader.Fetched f) {
        String key = f.member().shardKey();
        if (f.ok()) {
            item.bytes = f.bytes();
        } else if (f.error() instanceof ObjectTooLargeException e) {
            item.fail(ErrorCode.TOO_LARGE.name(), "the image has " + e.size() + " bytes, over the " + e.limit() + "-byte limit");
        } else if (f.error() instanceof ObjectRangeException e) {
            item.fail(Results.MISSING, "the image is not where its request says in " + key + ": " + e.getMessage());
        } else if (f.error() instanceof ImgscaleException e) {
            // ShardReader's one sentence for a shard that is not there (a reset removed it, or it was deleted)
            item.fail(Results.MISSING, e.getMessage());
        } else {
            item.leave("cannot download " + key + ": " + f.error());
        }
    }
}
