package dev.imgscale.daemon.shard;

/**
 * Where one file's bytes are in a shard: {@code length} bytes from {@code offset} of the object
 * {@code shardKey}.
 */
public record ShardMember(String shardKey, String name, long offset, long length) {
    public ShardMember {
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException("not a byte range: " + offset + "+" + length);
        }
    }

    /** The offset just past the member's data. */
    public long end() {
        return offset + length;
    }
}
